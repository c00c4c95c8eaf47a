"""PostgreSQL: the pooled `NFLDBManager`, schema migrations, the embedded server, and the SQL."""
