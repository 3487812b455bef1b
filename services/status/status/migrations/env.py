from motcua.migrations import run_env
from status.models import metadata

run_env(metadata)
