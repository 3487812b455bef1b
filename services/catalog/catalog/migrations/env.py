from motcua.migrations import run_env

from catalog.models import metadata

run_env(metadata)
