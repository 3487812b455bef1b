from motcua.migrations import run_env
from notify.models import metadata

run_env(metadata)
