"""gdpr: data subject rights. Resolving a subject, erasure from every layer, port and file,
export for a role, and the requests the platform location serves.

May import: slo, governance, upkeep and everything below. Independent of data_catalog."""
