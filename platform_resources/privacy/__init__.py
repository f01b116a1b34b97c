"""privacy: protection and access. Tokenization (keyed HMAC), the PII scan of files, the
role-based access policies, the secure reader for people and the audit log of privileged reads.

May import: storage, mesh, contracts, core. Independent of ingest, quality and simulate."""
