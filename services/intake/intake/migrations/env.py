from motcua.migrations import run_env

from intake.models import metadata

run_env(metadata)
