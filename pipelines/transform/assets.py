"""The dbt project as Dagster assets, in two steps around the churn model."""

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.resources import RunSettings, Warehouse
from pipelines.settings import DBT_PROJECT_DIR, ENV_DB

# Models downstream of the machine-learning outputs run after the churn model, which reads
# the other models; one @dbt_assets per side keeps the graph acyclic, whoever adds a model.
SCORED = "source:ml+"


def _dbt_executable() -> str:
    """The venv's dbt, even when the venv's bin folder is not on PATH (`make ui`, `make test`)."""
    beside = Path(sys.executable).with_name("dbt")
    if not beside.exists():
        return "dbt"
    if shutil.which("dbt") is None:
        # prepare_if_dev() parses with whatever `dbt` is on PATH: let it find this one.
        os.environ["PATH"] = f"{beside.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return str(beside)


DBT_EXECUTABLE = _dbt_executable()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


def _manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [project.project_dir / "dbt_project.yml"] + [
        path
        for folder in ("models", "macros", "tests")
        for path in (project.project_dir / folder).rglob("*")
        if path.suffix in (".sql", ".yml")
    ]
    return any(path.stat().st_mtime > built for path in sources)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse the project when its manifest is missing or older than its files."""
    if _manifest_is_stale(project):
        project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        # Parse into a private folder, then swap the manifest in: concurrent loaders never
        # read a half-written file.
        with tempfile.TemporaryDirectory(dir=project.manifest_path.parent) as scratch:
            dbt = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
            dbt.cli(["parse", "--quiet"], target_path=Path(scratch)).wait()
            os.replace(Path(scratch) / "manifest.json", project.manifest_path)
    return project.manifest_path


def dbt_resource() -> DbtCliResource:
    """The `dbt` resource the dbt assets need."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


class JourneyDbtTranslator(DagsterDbtTranslator):
    """Groups models by layer, keys sources by schema and table, and cuts feedback loops."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([props["schema"], props["name"]]))
        # fqn is [project, folder, ..., model]: the folder is the layer (staging, marts...).
        layer = props["fqn"][1] if len(props["fqn"]) > 2 else "dbt"
        # journeys.sent_messages is written by the journey engine downstream of the segments;
        # the models read the previous run's rows, which is not a dependency of this run.
        feedback = {
            self.get_asset_spec(manifest, source_id, project).key
            for source_id, source in manifest["sources"].items()
            if source.get("source_meta", {}).get("feedback_loop")
        }
        deps = [dep for dep in spec.deps if dep.asset_key not in feedback]
        return spec.replace_attributes(group_name=layer, deps=deps)


TRANSLATOR = JourneyDbtTranslator()
MANIFEST = ensure_manifest()


@contextmanager
def _warehouse_env(db_path: str) -> Iterator[None]:
    # dbt's profiles.yml reads the warehouse path from the environment of the dbt process.
    previous = os.environ.get(ENV_DB)
    os.environ[ENV_DB] = str(Path(db_path).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_DB, None)
        else:
            os.environ[ENV_DB] = previous


def dbt_vars(run_settings: RunSettings) -> dict[str, Any]:
    """The dbt vars of a run: its as_of (naive UTC; now when unset) and the churn threshold."""
    return {
        "as_of": run_settings.as_of_ts().isoformat(),
        "churn_threshold": run_settings.churn_threshold,
    }


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    run_settings: RunSettings,
) -> Iterator[Any]:
    variables = dbt_vars(run_settings)
    context.log.info(f"dbt build as of {variables['as_of']}")
    with _warehouse_env(warehouse.db_path):
        # Unit tests check the SQL, not the data: `make test` runs them, scheduled runs skip them.
        args = ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(variables)]
        invocation = dbt.cli(args, context=context)
    yield from invocation.stream()


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    exclude=SCORED,
    name="dbt_models",
)
def dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    run_settings: RunSettings,
) -> Iterator[Any]:
    """Staging, stitching, sessions, orders, stages and the unscored customer profiles."""
    yield from _build(context, dbt, warehouse, run_settings)


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    select=SCORED,
    name="dbt_scored_models",
)
def dbt_scored_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    run_settings: RunSettings,
) -> Iterator[Any]:
    """customers and segment_memberships, which read the churn scores."""
    yield from _build(context, dbt, warehouse, run_settings)
