"""The store: SQLAlchemy models, sessions, scope and masking. No Dash imports here."""

from .areas import Area, Generation, Grid, GridWorker, Survey, WorldMeta
from .base import LOCATED_COLUMNS, Base
from .cases import Alert, Camera, Dispute, DisputeEvent, DisputeParty, Event, Organisation
from .population import Building, FloatingInfo, ForeignInfo, Household, KeyYouth, Person, SpecialPerson
from . import security_models  # noqa: F401  - registers the security tables
from . import duty_models  # noqa: F401  - registers the duty tables
from . import planner_models  # noqa: F401  - registers the planner tables
from . import field_models  # noqa: F401  - registers the field (phone app) tables
from . import followup_models  # noqa: F401  - registers the follow-up visits table
from . import throttle_models  # noqa: F401  - registers the shared rate buckets
from .import_models import ImportTemplate, LedgerRow, QualityCell
from . import patrol_models  # noqa: F401  - registers the patrol and assessment tables
from . import safety_models  # noqa: F401  - registers key places, lines and incidents
from .schema import SCHEMA_HEAD, check_schema, upgrade_schema
from .scope import AreaScope, ScopeError
from .session import StoreError, database_url, make_engine, make_session_factory

__all__ = [
    "Alert", "Area", "AreaScope", "Base", "Building", "Camera", "Dispute", "DisputeEvent", "DisputeParty",
    "Event", "FloatingInfo", "ForeignInfo", "Generation", "Grid", "GridWorker", "Household", "KeyYouth",
    "ImportTemplate", "LedgerRow", "LOCATED_COLUMNS", "QualityCell", "Organisation", "Person", "SCHEMA_HEAD", "ScopeError", "SpecialPerson", "StoreError",
    "Survey", "WorldMeta", "check_schema", "database_url", "make_engine", "make_session_factory",
    "upgrade_schema",
]
