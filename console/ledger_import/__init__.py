"""Real data in: a county's 9+X ledgers (实有人口, 社会组织/非公企业, 雪亮工程 cameras, …) imported through one pipeline —
read (console.ledgers), map columns, map values to the code tables, validate, locate, assign the grid, preview,
save all or nothing, idempotent by natural keys. See docs/import.md."""
