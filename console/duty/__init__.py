"""值班 (duty): event ingest, alert rules, actions and the change feed. No Dash imports here (docs/duty.md)."""
