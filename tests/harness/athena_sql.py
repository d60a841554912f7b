"""Parse the Athena SQL that `lakewarden ddl athena` prints and describe it as JSON.

Athena runs DDL in Hive's dialect (backquoted names, `CREATE EXTERNAL TABLE ... STORED AS
PARQUET`) and queries and views in Trino's: the tables are parsed with sqlglot's Athena
dialect, which reads DDL as Hive does, and every view with sqlglot's Trino dialect. A
statement that does not parse fails the script, naming it.

Usage: athena_sql.py FILE  -> {"tables": {name: {"columns": [[name, type]...],
"partitions": [[name, type]...], "location": ..., "properties": {...}}}, "views": [...],
"databases": [...]}
"""
import json
import sys

import sqlglot
from sqlglot import exp


def column_defs(schema):
    return [[c.name, c.args["kind"].sql("hive").lower()] for c in schema.expressions]


def main(path):
    text = open(path, encoding="utf-8").read()
    # Statements end with ';' at the end of a line; comments are whole lines.
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in body.split(";\n") if s.strip()]
    out = {"tables": {}, "views": [], "databases": []}
    for statement in statements:
        statement = statement.rstrip(";")
        is_view = statement.startswith("CREATE OR REPLACE VIEW")
        try:
            tree = sqlglot.parse_one(statement, read="trino" if is_view else "athena")
        except sqlglot.errors.ParseError as error:
            sys.exit(f"does not parse: {statement[:80]}...\n{error}")
        if not isinstance(tree, exp.Create):
            sys.exit(f"not a CREATE statement: {statement[:80]}")
        kind = tree.args.get("kind")
        if kind == "VIEW":
            out["views"].append(tree.this.sql("trino"))
        elif kind == "DATABASE" or kind == "SCHEMA":
            out["databases"].append(tree.this.sql("trino"))
        elif kind == "TABLE":
            schema = tree.this
            table = schema.this
            properties = tree.args["properties"].expressions
            partitions, location, props = [], None, {}
            for prop in properties:
                if isinstance(prop, exp.PartitionedByProperty):
                    partitions = column_defs(prop.this)
                elif isinstance(prop, exp.LocationProperty):
                    location = prop.this.name
                elif isinstance(prop, exp.Property) and prop.args.get("value") is not None:
                    props[prop.name] = prop.args["value"].name
            out["tables"][table.name] = {
                "database": table.db,
                "columns": column_defs(schema),
                "partitions": partitions,
                "location": location,
                "properties": props,
            }
        else:
            sys.exit(f"unexpected statement kind {kind}: {statement[:80]}")
    json.dump(out, sys.stdout, indent=1)


main(sys.argv[1])
