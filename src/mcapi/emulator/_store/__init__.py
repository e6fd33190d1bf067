"""The emulator's persistent state: accounts, domains, users, applications and bindings.

SQLAlchemy Core over SQLite (default, a file that survives restarts, or ``sqlite://`` in memory)
or PostgreSQL (several emulator processes sharing one state). :class:`Store` is the API;
:data:`metadata` is shared with the modules that add their own tables; the seed functions load a
tenant from a TOML/JSON document or create the demo tenant.
"""

from mcapi.emulator._store._demo import (
    DEMO_ACCOUNT_CODE,
    READ_ONLY_PERMISSIONS,
    DemoCredentials,
    demo_seed,
    ensure_demo,
)
from mcapi.emulator._store._errors import (
    AlreadyExists,
    BindingLimitReached,
    RowNotFound,
    SeedError,
    StoreError,
)
from mcapi.emulator._store._models import (
    Account,
    Application,
    AuthContext,
    Binding,
    Domain,
    FunctionQuota,
    User,
)
from mcapi.emulator._store._passwords import hash_password, verify_password
from mcapi.emulator._store._schema import metadata
from mcapi.emulator._store._seed import SeedSummary, apply_seed, load_seed_file
from mcapi.emulator._store._store import Store

__all__ = [
    "DEMO_ACCOUNT_CODE",
    "READ_ONLY_PERMISSIONS",
    "Account",
    "AlreadyExists",
    "Application",
    "AuthContext",
    "Binding",
    "BindingLimitReached",
    "DemoCredentials",
    "Domain",
    "FunctionQuota",
    "RowNotFound",
    "SeedError",
    "SeedSummary",
    "Store",
    "StoreError",
    "User",
    "apply_seed",
    "demo_seed",
    "ensure_demo",
    "hash_password",
    "load_seed_file",
    "metadata",
    "verify_password",
]
