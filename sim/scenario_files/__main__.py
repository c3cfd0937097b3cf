"""`python -m sim.scenario_files`: rewrite docs/scenarios.md from the schema."""

from sim.scenario_files.reference import DOCS_PATH, schema_reference

if __name__ == "__main__":
    DOCS_PATH.write_text(schema_reference(), encoding="utf-8")
    print(f"wrote {DOCS_PATH}")
