"""data_catalog: the static catalog of data products. The facts of each product (contract,
rows, checks, consumers) and the site written from them (``templates/``).

May import: slo, governance, upkeep and everything below. Independent of gdpr."""
