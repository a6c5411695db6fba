"""公共安全: key places, 护路护线 lines, the response plan and incidents (docs/safety.md)."""
