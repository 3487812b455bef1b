from motcua.migrations import run_env
from postal.models import metadata

run_env(metadata)
