"""Security: accounts, roles, area scope, sessions, audit, masking, encryption, hardening."""
