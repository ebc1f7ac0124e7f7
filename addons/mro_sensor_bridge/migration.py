"""Renaming fields in existing databases, for the addons' migration scripts (plain SQL, no Odoo registry).

What OCA's openupgradelib ``rename_fields`` does, in the few statements these addons need: the column (with its
index and foreign key), the field's metadata (ir_model_fields, so that tracking values, defaults and exports that
point at the field keep pointing at it), its XML ids (``field_<model>__<name>``, ``selection__<model>__<name>__*``),
and the saved filters, window actions and export lists that name it. Views are reloaded from the addons' XML by
the upgrade itself."""

import logging

from odoo.tools import SQL, sql

_logger = logging.getLogger(__name__)


def rename_fields(cr, module, model, renames):
    """Rename ``renames`` (a list of ``(old, new)`` field names) of ``model``, defined by ``module``.

    Each step runs only when the old name is there and the new one is not, so running it twice, or on a database
    created by the new version, changes nothing."""
    table = model.replace(".", "_")
    for old, new in renames:
        _rename_column(cr, table, old, new)
        _rename_metadata(cr, module, model, table, old, new)
        _rename_references(cr, model, old, new)
        _logger.info("%s: field %s renamed to %s", model, old, new)


def _rename_column(cr, table, old, new):
    if not sql.column_exists(cr, table, old) or sql.column_exists(cr, table, new):
        return
    cr.execute(
        SQL("ALTER TABLE %s RENAME COLUMN %s TO %s", SQL.identifier(table), SQL.identifier(old), SQL.identifier(new))
    )
    # Odoo finds an index by its name: an index left under the old name would be created a second time.
    old_index, new_index = sql.make_index_name(table, old), sql.make_index_name(table, new)
    if sql.index_exists(cr, old_index) and not sql.index_exists(cr, new_index):
        cr.execute(SQL("ALTER INDEX %s RENAME TO %s", SQL.identifier(old_index), SQL.identifier(new_index)))
    # Foreign keys are found by column; their names follow PostgreSQL's default, kept in ir_model_constraint.
    old_fkey, new_fkey = f"{table}_{old}_fkey", f"{table}_{new}_fkey"
    if sql.constraint_definition(cr, table, old_fkey) and len(new_fkey) <= 63:
        cr.execute(
            SQL(
                "ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
                SQL.identifier(table),
                SQL.identifier(old_fkey),
                SQL.identifier(new_fkey),
            )
        )
        cr.execute("UPDATE ir_model_constraint SET name = %s WHERE name = %s AND type = 'f'", (new_fkey, old_fkey))


def _rename_metadata(cr, module, model, table, old, new):
    cr.execute("SELECT 1 FROM ir_model_fields WHERE model = %s AND name = %s", (model, new))
    if cr.fetchone():
        return
    cr.execute("UPDATE ir_model_fields SET name = %s WHERE model = %s AND name = %s", (new, model, old))
    cr.execute(
        """UPDATE ir_model_data SET name = %s
            WHERE module = %s AND model = 'ir.model.fields' AND name = %s""",
        (f"field_{table}__{new}", module, f"field_{table}__{old}"),
    )
    old_prefix, new_prefix = f"selection__{table}__{old}__", f"selection__{table}__{new}__"
    cr.execute(
        """UPDATE ir_model_data SET name = %s || substr(name, length(%s) + 1)
            WHERE module = %s AND model = 'ir.model.fields.selection' AND left(name, length(%s)) = %s""",
        (new_prefix, old_prefix, module, old_prefix, old_prefix),
    )


def _rename_references(cr, model, old, new):
    """The field's name in saved filters, window actions and export lists of the model, where the database keeps
    it as text: ``'name'`` in domains and contexts, ``'name:month'`` in a grouping, ``"name desc"`` in a sort."""
    pattern = r"(['\"])" + old + r"((?::\w+)?(?: (?:asc|desc))?)\1"
    replacement = r"\1" + new + r"\2\1"
    for table, model_column, columns in (
        ("ir_filters", "model_id", ("domain", "context", "sort")),
        ("ir_act_window", "res_model", ("domain", "context")),
    ):
        for column in columns:
            if not sql.column_exists(cr, table, column):
                continue
            cr.execute(
                SQL(
                    "UPDATE %(table)s SET %(column)s = regexp_replace(%(column)s, %(pattern)s, %(replacement)s, 'g')"
                    " WHERE %(model_column)s = %(model)s AND %(column)s ~ %(pattern)s",
                    table=SQL.identifier(table),
                    column=SQL.identifier(column),
                    model_column=SQL.identifier(model_column),
                    pattern=pattern,
                    replacement=replacement,
                    model=model,
                )
            )
    cr.execute(
        """UPDATE ir_exports_line line SET name = %s
             FROM ir_exports export
            WHERE line.export_id = export.id AND export.resource = %s AND line.name = %s""",
        (new, model, old),
    )
