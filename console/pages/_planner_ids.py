"""Component ids of the 网格规划 page, in one place."""


class ID:
    URL = "pl-url"
    VILLAGE = "pl-village"
    DRAFT = "pl-draft"            # {"draft": id, "village": code, "version": n, "selected": index | None}
    MOUNT = "pl-mount"            # {"version": n, "id": Leaflet id of the editable grid}
    MESSAGE = "pl-message"
    MAP, OUTLINE, PAST, GRIDS, HOUSEHOLDS, PROBLEMS = "pl-map", "pl-outline", "pl-past", "pl-grids", "pl-hh", "pl-problems"
    EDIT_BOX = "pl-edit-box"
    EDIT = "pl-edit"              # pattern id type: {"type": EDIT, "v": version} remounts the control per render
    EDIT_GROUP = "pl-edit-group"
    TABS, SUMMARY, TABLE, PROBLEM_LIST = "pl-tabs", "pl-summary", "pl-table", "pl-problem-list"
    UNDO, REDO, MERGE, DELETE, RESTART = "pl-undo", "pl-redo", "pl-merge", "pl-delete", "pl-restart"
    K, PROPOSE = "pl-k", "pl-propose"
    UPLOAD, UPLOAD_NAME, ENCODING, CRS, IMPORT = "pl-upload", "pl-upload-name", "pl-encoding", "pl-crs", "pl-import"
    LAYER, PARTIAL = "pl-layer", "pl-partial"
    EXPORT_FMT, EXPORT_CRS, EXPORT, DOWNLOAD = "pl-export-fmt", "pl-export-crs", "pl-export", "pl-download"
    PREVIEW, PREVIEW_SUMMARY, PAIRS, WORKERS = "pl-preview", "pl-preview-summary", "pl-pairs", "pl-workers"
    REASON, COMMIT = "pl-reason", "pl-commit"
    HISTORY, VIEW_GEN, RESTORE, ROLLBACK = "pl-history", "pl-view-gen", "pl-restore", "pl-rollback"
    ROLLBACK_PREVIEW, ROLLBACK_CONFIRM = "pl-rollback-preview", "pl-rollback-confirm"
