"""Output-column lineage (``selected_columns``) and the catalogue callback."""

from __future__ import annotations

import pytest

from detectors.sql import SqlAnalyzer, analyze

CATALOGUE = {
    "customers": ["id", "name", "phone", "id_card"],
    "orders": ["id", "customer_id", "total"],
    "crm.members": ["ID", "Mobile"],
}


def lineage(sql: str, dialect: str = "postgresql", columns_of=None) -> list[tuple[str, set[str]]]:
    info = SqlAnalyzer(columns_of=columns_of).analyze(sql, dialect)
    assert info.parse_ok, info.error
    return [(name, set(srcs)) for name, srcs in info.selected_columns]


def test_function_and_alias():
    assert lineage("SELECT lower(phone) AS p FROM customers") == [("p", {"customers.phone"})]


def test_expression_of_several_columns_and_unaliased_names():
    sql = "SELECT name || ' ' || phone AS contact, upper(name), id::text, 1 FROM customers c"
    assert lineage(sql) == [
        ("contact", {"customers.name", "customers.phone"}),
        ("upper", {"customers.name"}),
        ("id", {"customers.id"}),
        ("?column?", set()),
    ]


def test_through_cte_and_alias_chain():
    sql = """
        WITH a AS (SELECT id, phone AS mobile FROM customers),
             b AS (SELECT id AS cid, substr(mobile, 1, 3) AS prefix FROM a)
        SELECT b.prefix AS p, b.cid FROM b"""
    assert lineage(sql) == [("p", {"customers.phone"}), ("cid", {"customers.id"})]


def test_union_merges_by_position():
    sql = "SELECT phone AS contact, 'c' FROM customers UNION ALL SELECT email, 'o' FROM orders"
    assert lineage(sql) == [("contact", {"customers.phone", "orders.email"}),
                            ("?column?", set())]


def test_subquery_in_from_and_scalar_subquery():
    sql = """SELECT s.n, (SELECT max(total) FROM orders o WHERE o.customer_id = s.id) AS top
             FROM (SELECT id, name AS n FROM customers) s"""
    assert lineage(sql) == [("n", {"customers.name"}), ("top", {"orders.total"})]


def test_star_without_catalogue_stays_a_star():
    assert lineage("SELECT * FROM customers") == [("*", {"customers.*"})]
    sql = "SELECT c.*, o.total FROM customers c JOIN orders o ON o.customer_id = c.id"
    assert lineage(sql) == [
        ("*", {"customers.*"}), ("total", {"orders.total"})]


def test_star_expanded_by_catalogue():
    got = lineage("SELECT * FROM customers", columns_of=CATALOGUE.get)
    assert got == [("id", {"customers.id"}), ("name", {"customers.name"}),
                   ("phone", {"customers.phone"}), ("id_card", {"customers.id_card"})]
    info = SqlAnalyzer(columns_of=CATALOGUE.get).analyze("SELECT * FROM customers", "postgresql")
    assert info.columns_read == {"customers.id", "customers.name", "customers.phone",
                                 "customers.id_card"}


def test_qualified_star_through_cte_with_catalogue():
    sql = ("WITH x AS (SELECT * FROM orders) "
           "SELECT x.*, c.name FROM x JOIN customers c ON c.id = x.customer_id")
    assert lineage(sql, columns_of=CATALOGUE.get) == [
        ("id", {"orders.id"}), ("customer_id", {"orders.customer_id"}), ("total", {"orders.total"}),
        ("name", {"customers.name"})]


def test_catalogue_names_are_case_folded():
    got = lineage("SELECT * FROM crm.members", "mysql", columns_of=CATALOGUE.get)
    assert got == [("id", {"crm.members.id"}), ("mobile", {"crm.members.mobile"})]


def test_catalogue_attributes_unqualified_columns_in_joins():
    sql = "SELECT phone, total FROM customers JOIN orders ON orders.customer_id = customers.id"
    assert lineage(sql) == [("phone", {"?.phone"}), ("total", {"?.total"})]
    assert lineage(sql, columns_of=CATALOGUE.get) == [("phone", {"customers.phone"}),
                                                      ("total", {"orders.total"})]


def test_column_of_unexpanded_star_derived_table():
    # x.phone comes through SELECT * of one table: it must be that table's column
    assert lineage("SELECT x.phone FROM (SELECT * FROM customers) x") == [
        ("phone", {"customers.phone"})]


def test_order_by_output_alias_is_not_a_table_column():
    info = analyze("SELECT lower(phone) AS p FROM customers ORDER BY p", "postgresql")
    assert info.columns_read == {"customers.phone"}


def test_lineage_property_and_to_dict_leave_out_literals():
    info = analyze("SELECT lower(phone) AS p FROM customers WHERE id = 13812345678", "postgresql")
    assert info.lineage == {"p": frozenset({"customers.phone"})}
    doc = info.to_dict()
    assert "literals" not in doc and "13812345678" not in repr(doc)
    assert doc["selected"] == [{"name": "p", "from": ["customers.phone"]}]
    assert info.to_dict(literals=True)["literals"] == ["13812345678"]


@pytest.mark.parametrize("sql", [
    "SELECT phone FROM customers WHERE id = 1 FOR UPDATE",
    "SELECT DISTINCT phone FROM customers",
    "(SELECT phone FROM customers)",
])
def test_simple_variants(sql):
    assert lineage(sql) == [("phone", {"customers.phone"})]
