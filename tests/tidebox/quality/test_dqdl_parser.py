"""tidebox.quality.dqdl: DQDL rulesets as AWS documents them, parsed into the evaluator's AST,
and malformed ones refused with the line and column of the mistake."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from importlib import resources
from pathlib import Path
from typing import cast

import pytest

from tests.support import REPO
from tidebox.core.errors import DqdlSyntaxError, TideboxError
from tidebox.core.settings import SENSOR_COLUMNS
from tidebox.quality.dqdl import (
    RULE_TYPES,
    Between,
    BinaryOp,
    Compare,
    Composite,
    DateLiteral,
    Duration,
    FunctionCall,
    InList,
    Keyword,
    Matches,
    Negate,
    Now,
    Rule,
    Ruleset,
    Size,
    load_ruleset,
    parse_ruleset,
)


def rules(body: str, header: str = "") -> Ruleset:
    return parse_ruleset(f"{header}\nRules = [\n{body}\n]")


def one(rule: str, header: str = "") -> Rule:
    [node] = rules(rule, header).rules
    assert isinstance(node, Rule)
    return node


def error(text: str, source: str = "rules.dqdl") -> DqdlSyntaxError:
    with pytest.raises(DqdlSyntaxError) as caught:
        parse_ruleset(textwrap.dedent(text).strip("\n"), source)
    return caught.value


def last(k: int) -> FunctionCall:
    return FunctionCall("last", (k,))


# -- every rule type, written as AWS's reference shows it -----------------------------------------

RULE_EXAMPLES = [
    ("RowCount between 10 and 5000", (), Between(10, 5000)),
    ("ColumnCount >= 9", (), Compare(">=", 9)),
    ('Completeness "battery" > 0.95', ("battery",), Compare(">", 0.95)),
    ('IsComplete "device_id"', ("device_id",), None),
    (
        'Uniqueness "device_id" "event_time" >= 0.99',
        ("device_id", "event_time"),
        Compare(">=", 0.99),
    ),
    ('IsUnique "reading_id"', ("reading_id",), None),
    ('IsPrimaryKey "device_id" "event_time"', ("device_id", "event_time"), None),
    ('ColumnExists "humidity"', ("humidity",), None),
    (
        'ColumnValues "anomaly_type" in ["spike", "drift", NULL]',
        ("anomaly_type",),
        InList(("spike", "drift", Keyword("NULL"))),
    ),
    ('ColumnDataType "temperature" = "Double"', ("temperature",), Compare("=", "Double")),
    ('ColumnLength "device_id" between 4 and 12', ("device_id",), Between(4, 12)),
    ('ColumnNamesMatchPattern "^[a-z_]+$"', ("^[a-z_]+$",), None),
    ('Mean "temperature" between 15 and 30', ("temperature",), Between(15, 30)),
    ('Sum "vibration" > 0', ("vibration",), Compare(">", 0)),
    ('StandardDeviation "humidity" < 20.5', ("humidity",), Compare("<", 20.5)),
    ('Variance "battery" <= 400', ("battery",), Compare("<=", 400)),
    ('Entropy "device_id" > 1', ("device_id",), Compare(">", 1)),
    ('DistinctValuesCount "device_id" = 5', ("device_id",), Compare("=", 5)),
    ('UniqueValueRatio "device_id" < 0.1', ("device_id",), Compare("<", 0.1)),
    (
        'ColumnCorrelation "temperature" "humidity" between -0.9 and 0.9',
        ("temperature", "humidity"),
        Between(-0.9, 0.9),
    ),
    (
        'DataFreshness "event_time" <= 24 hours',
        ("event_time",),
        Compare("<=", Duration(24, "hours")),
    ),
    (
        'CustomSql "select count(*) from primary where battery < 5" < 10',
        ("select count(*) from primary where battery < 5",),
        Compare("<", 10),
    ),
    (
        'ReferentialIntegrity "device_id" "devices.device_id" = 1.0',
        ("device_id", "devices.device_id"),
        Compare("=", 1.0),
    ),
    ('RowCountMatch "reference" >= 0.9', ("reference",), Compare(">=", 0.9)),
    ('SchemaMatch "reference" = 1.0', ("reference",), Compare("=", 1.0)),
    (
        'AggregateMatch "sum(battery)" "sum(reference.battery)" > 0.95',
        ("sum(battery)", "sum(reference.battery)"),
        Compare(">", 0.95),
    ),
    (
        'DatasetMatch "reference" "device_id" "temperature,humidity" >= 0.9',
        ("reference", "device_id", "temperature,humidity"),
        Compare(">=", 0.9),
    ),
    ('DetectAnomalies "RowCount"', ("RowCount",), None),
    ('DetectAnomalies "Completeness" "battery"', ("Completeness", "battery"), None),
]


@pytest.mark.parametrize(("text", "parameters", "condition"), RULE_EXAMPLES)
def test_every_rule_type_parses_as_documented(
    text: str, parameters: tuple, condition: object
) -> None:
    rule = one(text)
    assert rule.type == text.split()[0]
    assert rule.type in RULE_TYPES
    assert rule.parameters == parameters
    assert rule.condition == condition
    assert (rule.where, rule.threshold, dict(rule.labels)) == (None, None, {})
    assert rule.text == text
    assert (rule.line, rule.column) == (3, 1)


def test_the_examples_cover_every_rule_type_the_issue_lists() -> None:
    listed = {
        "RowCount", "ColumnCount", "Completeness", "IsComplete", "Uniqueness", "IsUnique",
        "IsPrimaryKey", "ColumnExists", "ColumnValues", "ColumnDataType", "ColumnLength",
        "ColumnNamesMatchPattern", "Mean", "Sum", "StandardDeviation", "Variance", "Entropy",
        "DistinctValuesCount", "UniqueValueRatio", "ColumnCorrelation", "DataFreshness",
        "CustomSql", "ReferentialIntegrity", "RowCountMatch", "SchemaMatch", "AggregateMatch",
        "DatasetMatch", "DetectAnomalies",
    }  # fmt: skip
    assert {text.split()[0] for text, _, _ in RULE_EXAMPLES} == listed
    assert listed | {"AllStatistics"} <= set(RULE_TYPES)


def test_parameters_may_be_bare_words_with_connectors_as_glue_allows() -> None:
    rule = one('ColumnCorrelation of temperature and "humidity" between 0.1 and 0.9')
    assert rule.parameters == ("temperature", "humidity")
    assert one("DetectAnomalies of Completeness of battery").parameters == (
        "Completeness",
        "battery",
    )


def test_a_rule_type_not_built_is_still_parsed_for_the_evaluator_to_refuse() -> None:
    future = one('SomeFutureRule "col" "other" > 3 where "x > 1"')
    assert (future.type, future.parameters) == ("SomeFutureRule", ("col", "other"))
    assert future.condition == Compare(">", 3) and future.where == "x > 1"
    assert "SomeFutureRule" not in RULE_TYPES
    # rule types are case-sensitive: this is not RowCount
    assert one("rowcount > 3").type == "rowcount"


# -- analyzers ------------------------------------------------------------------------------------


def test_analyzers_are_rules_without_conditions() -> None:
    ruleset = parse_ruleset(
        'Rules = [ RowCount > 0 ]\nAnalyzers = [ RowCount, AllStatistics "temperature", '
        'Completeness of "battery", AllStatistics of AllColumns ]'
    )
    assert [(a.type, a.parameters) for a in ruleset.analyzers] == [
        ("RowCount", ()),
        ("AllStatistics", ("temperature",)),
        ("Completeness", ("battery",)),
        ("AllStatistics", ("AllColumns",)),
    ]
    assert all(a.condition is None for a in ruleset.analyzers)


def test_a_ruleset_may_hold_analyzers_alone() -> None:
    assert len(parse_ruleset("Analyzers = [ RowCount ]").analyzers) == 1
    assert parse_ruleset("Rules = [] Analyzers = [ RowCount ]").rules == ()


# -- composite rules ------------------------------------------------------------------------------


def test_composite_rules_nest_as_written() -> None:
    node = rules('(IsComplete "a") and ((IsUnique "b") or (RowCount > 0))').rules[0]
    assert isinstance(node, Composite)
    assert (
        node.op == "and" and node.text == '(IsComplete "a") and ((IsUnique "b") or (RowCount > 0))'
    )
    first, second = node.parts
    assert isinstance(first, Rule) and first.text == 'IsComplete "a"'
    assert isinstance(second, Composite) and second.op == "or"
    assert second.text == '(IsUnique "b") or (RowCount > 0)'
    assert [r.type for r in node.leaves()] == ["IsComplete", "IsUnique", "RowCount"]


def test_a_chain_of_one_operator_is_one_composite_and_binds_and_before_or() -> None:
    chain = rules('(Mean "t" > 3) and (Mean "h" > 5) AND (IsComplete "id")').rules[0]
    assert isinstance(chain, Composite) and chain.op == "and" and len(chain.parts) == 3
    mixed = rules('(RowCount > 0) OR (IsComplete "a") and (IsUnique "a")').rules[0]
    assert isinstance(mixed, Composite) and mixed.op == "or"
    assert isinstance(mixed.parts[1], Composite) and mixed.parts[1].op == "and"


def test_a_rule_alone_in_parentheses_is_that_rule() -> None:
    alone = one('(Completeness "a" between 0.5 and 0.8)')
    assert (alone.type, alone.condition) == ("Completeness", Between(0.5, 0.8))
    assert (alone.text, alone.column) == ('Completeness "a" between 0.5 and 0.8', 2)


def test_leaf_rules_walk_every_rule_in_order() -> None:
    ruleset = rules('RowCount > 0,\n(IsComplete "a") or (IsComplete "b"),\nColumnCount = 9')
    assert [r.text for r in ruleset.leaf_rules()] == [
        "RowCount > 0",
        'IsComplete "a"',
        'IsComplete "b"',
        "ColumnCount = 9",
    ]


# -- where, with threshold, labels ----------------------------------------------------------------


def test_where_clauses_keep_their_sql() -> None:
    rule = one('IsComplete "anomaly_type" where "is_anomaly = true and device_id <> \'x\'"')
    assert rule.where == "is_anomaly = true and device_id <> 'x'"
    both = one('ColumnValues "battery" > 5 where "device_id = \'dev-001\'" with threshold > 0.9')
    assert both.where == "device_id = 'dev-001'"
    assert both.threshold == Compare(">", 0.9)


def test_thresholds_are_number_conditions() -> None:
    rule = one('ColumnValues "temperature" between -40 and 125 with threshold >= 0.99')
    assert rule.condition == Between(-40, 125)
    assert rule.threshold == Compare(">=", 0.99)
    ranged = one('ColumnDataType "battery" = "Double" with threshold not between 0.1 and 0.2')
    assert ranged.threshold == Between(0.1, 0.2, negated=True)
    assert one('CustomSql "select battery from primary"').condition is None


def test_labels_merge_over_the_default_labels() -> None:
    ruleset = rules(
        'RowCount > 0,\nIsComplete "a" labels=["team"="lake", "severity"="high"]',
        header='DefaultLabels = ["team"="sensors", "env"="sandbox"]',
    )
    plain, labelled = ruleset.rules
    assert isinstance(plain, Rule) and isinstance(labelled, Rule)
    assert dict(ruleset.default_labels) == {"team": "sensors", "env": "sandbox"}
    assert dict(plain.labels) == {"team": "sensors", "env": "sandbox"}
    assert dict(labelled.labels) == {"team": "lake", "env": "sandbox", "severity": "high"}
    assert labelled.text == 'IsComplete "a" labels=["team"="lake", "severity"="high"]'


def test_the_references_labels_example_with_slash_comments() -> None:
    ruleset = parse_ruleset(
        textwrap.dedent(
            """\
            DefaultLabels=["frequency"="monthly"]
            Rules = [
                // Auto includes the default label
                ColumnValues "col" > 21,
                ColumnValues "col" > 5 with threshold > 0.8 labels=["foo"="bar"], # a comment too
                RowCount > 6 labels=["foo"="bar", "frequency"="daily"]
            ]"""
        )
    )
    assert [dict(cast(Rule, r).labels) for r in ruleset.rules] == [
        {"frequency": "monthly"},
        {"frequency": "monthly", "foo": "bar"},
        {"frequency": "daily", "foo": "bar"},
    ]


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        (", ".join(f'"k{i}"="v"' for i in range(11)), "at most 10 labels, found 11"),
        (f'"{"k" * 129}"="v"', "a label's key has at most 128 characters"),
        (f'"k"="{"v" * 257}"', "a label's value has at most 256 characters"),
    ],
)
def test_labels_within_glues_limits(labels: str, problem: str) -> None:
    with pytest.raises(DqdlSyntaxError, match=problem):
        parse_ruleset(f"Rules = [ RowCount > 0 labels=[{labels}] ]")
    defaults = ", ".join(f'"d{i}"="v"' for i in range(9))
    with pytest.raises(DqdlSyntaxError, match="at most 10 labels per rule, defaults included"):
        parse_ruleset(
            f'DefaultLabels = [{defaults}]\nRules = [ RowCount > 0 labels=["a"="b", "c"="d"] ]'
        )


# -- variables, metadata, data sources ------------------------------------------------------------


def test_variables_are_resolved_and_the_text_keeps_them() -> None:
    ruleset = rules(
        "CustomSql $sql > 0,\n"
        'ColumnValues "anomaly_type" in $kinds,\n'
        'ColumnValues "anomaly_type" not in $kinds,\n'
        'ColumnValues "device_id" = $device,\n'
        "Mean $column > 3",
        header=textwrap.dedent(
            """\
            sql = "select count(*) from primary"
            kinds = ["spike", "drift", NULL]
            device = "dev-001"
            column = "temperature"
            """
        ),
    )
    sql, kinds, not_kinds, device, mean = ruleset.rules
    assert isinstance(sql, Rule) and sql.parameters == ("select count(*) from primary",)
    assert sql.text == "CustomSql $sql > 0"
    assert isinstance(kinds, Rule) and kinds.condition == InList(
        ("spike", "drift", Keyword("NULL"))
    )
    assert isinstance(not_kinds, Rule) and not_kinds.condition == InList(
        ("spike", "drift", Keyword("NULL")), negated=True
    )
    assert isinstance(device, Rule) and device.condition == Compare("=", "dev-001")
    assert isinstance(mean, Rule) and mean.parameters == ("temperature",)
    assert ruleset.variables["kinds"] == ("spike", "drift", Keyword("NULL"))


def test_a_dollar_inside_a_string_is_not_a_variable() -> None:
    rule = one('CustomSql "select $id from primary"', header='id = "x"')
    assert rule.parameters == ("select $id from primary",)


def test_metadata_and_data_sources_keep_their_keys() -> None:
    ruleset = rules(
        "RowCount > 0",
        header='Metadata = { "Version": "1.0" }\n'
        'DataSources = { "Primary": "sensor_readings",\n'
        '                "AdditionalDataSources": ["devices", "ref"] }',
    )
    assert dict(ruleset.metadata) == {"Version": "1.0"}
    assert dict(ruleset.data_sources) == {
        "Primary": "sensor_readings",
        "AdditionalDataSources": ("devices", "ref"),
    }


# -- comments and layout --------------------------------------------------------------------------


def test_comments_and_line_breaks_are_free() -> None:
    ruleset = parse_ruleset(
        textwrap.dedent(
            """\
            # sensor checks
            Rules = [   # the list starts here
                RowCount > 0,        # some rows
                # a whole-line comment between rules
                ColumnValues "device_id" matches "dev-#[0-9]+",
                CustomSql "select count(*)
                           from primary"
                    between 1
                    and 10
            ]
            """
        )
    )
    count, pattern, sql = ruleset.rules
    assert isinstance(count, Rule) and (count.line, count.column) == (3, 5)
    assert isinstance(pattern, Rule) and pattern.condition == Matches("dev-#[0-9]+")
    assert isinstance(sql, Rule) and (sql.line, sql.column) == (6, 5)
    assert sql.parameters[0].split() == ["select", "count(*)", "from", "primary"]
    assert sql.condition == Between(1, 10)
    assert sql.text.startswith('CustomSql "select') and sql.text.endswith("and 10")


def test_strings_unescape_quotes_and_keep_other_backslashes() -> None:
    rule = one(r'ColumnValues "device_id" matches "\d+\"x\\"')
    assert rule.condition == Matches('\\d+"x\\')


# -- conditions and values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("!= 3", Compare("!=", 3)),
        ("= -2.5", Compare("=", -2.5)),
        ("not between 1 and 2", Between(1, 2, negated=True)),
        ('not in ["a", "b"]', InList(("a", "b"), negated=True)),
        ('not matches "[a-z]+"', Matches("[a-z]+", negated=True)),
        ("= NULL", Compare("=", Keyword("NULL"))),
        ("!= EMPTY", Compare("!=", Keyword("EMPTY"))),
        ("!= whitespaces_only", Compare("!=", Keyword("WHITESPACES_ONLY"))),
        (
            'in ["a", null, EMPTY, WHITESPACES_ONLY]',
            InList(("a", Keyword("NULL"), Keyword("EMPTY"), Keyword("WHITESPACES_ONLY"))),
        ),
        ('= "2024-01-01"', Compare("=", DateLiteral(dt.date(2024, 1, 1), "2024-01-01"))),
        (
            'between "2022-06-01" and "2022-06-30"',
            Between(
                DateLiteral(dt.date(2022, 6, 1), "2022-06-01"),
                DateLiteral(dt.date(2022, 6, 30), "2022-06-30"),
            ),
        ),
        ("> now()", Compare(">", Now())),
        ("> (now() - 3 days)", Compare(">", Now(Duration(-3, "days")))),
        (
            "between (now() - 90 minutes) and (now() + 1 hours)",
            Between(Now(Duration(-90, "minutes")), Now(Duration(1, "hours"))),
        ),
        (
            'in [now(), "2023-01-01"]',
            InList((Now(), DateLiteral(dt.date(2023, 1, 1), "2023-01-01"))),
        ),
    ],
)
def test_column_values_conditions(condition: str, expected: object) -> None:
    assert one(f'ColumnValues "c" {condition}').condition == expected


def test_durations_and_sizes_carry_their_units() -> None:
    fresh = one('DataFreshness "event_time" between 30 minutes and 2 days').condition
    assert fresh == Between(Duration(30, "minutes"), Duration(2, "days"))
    assert isinstance(fresh, Between) and isinstance(fresh.high, Duration)
    assert fresh.high.timedelta == dt.timedelta(days=2)
    size = one('FileSize "s3://bucket/landing/" < 10 MB').condition
    assert size == Compare("<", Size(10, "MB"))
    assert isinstance(size, Compare) and isinstance(size.value, Size)
    assert size.value.bytes == 10 * 1024 * 1024


def test_dynamic_rules_are_expression_trees_over_earlier_results() -> None:
    simple = one("RowCount > avg(last(10))")
    assert simple.condition == Compare(">", FunctionCall("avg", (last(10),)))
    assert simple.dynamic
    scaled = one("RowCount > avg(last(10)) * 0.9").condition
    assert scaled == Compare(">", BinaryOp("*", FunctionCall("avg", (last(10),)), 0.9))
    band = one('Mean "t" >= avg(last(5)) - 2 * stdev(last(5))').condition
    assert band == Compare(
        ">=",
        BinaryOp(
            "-",
            FunctionCall("avg", (last(5),)),
            BinaryOp("*", 2, FunctionCall("stdev", (last(5),))),
        ),
    )
    ranged = one('StandardDeviation "h" between min(last(3)) - 1 and max(last(3)) + 1').condition
    assert ranged == Between(
        BinaryOp("-", FunctionCall("min", (last(3),)), 1),
        BinaryOp("+", FunctionCall("max", (last(3),)), 1),
    )
    assert one("RowCount > -avg(last(2))").condition == Compare(
        ">", Negate(FunctionCall("avg", (last(2),)))
    )
    assert one("RowCount > index(last(4), 1)").condition == Compare(
        ">", FunctionCall("index", (last(4), 1))
    )
    assert one("RowCount between (0.9 * avg(last(10))) and 1.1 * avg(last(10))").dynamic
    assert not one("RowCount > 10 + 10").dynamic


# -- the example ruleset for sensor_readings ------------------------------------------------------


def test_the_sensor_readings_ruleset_parses_and_names_real_columns() -> None:
    ruleset = load_ruleset(REPO / "expectations" / "sensor_readings.dqdl")
    leaves = list(ruleset.leaf_rules())
    assert len(leaves) >= 20 and ruleset.analyzers
    assert {r.type for r in leaves} <= set(RULE_TYPES)
    for rule in [*leaves, *ruleset.analyzers]:
        spec = RULE_TYPES[rule.type]
        names = spec.parameters + spec.parameters[-1:] * len(rule.parameters)  # var-args repeat
        columns = [p for name, p in zip(names, rule.parameters, strict=False) if "Column" in name]
        assert set(columns) <= set(SENSOR_COLUMNS), rule.text
    assert all(r.labels["table"] == "sensor_readings" for r in leaves)


def test_the_grammar_ships_as_package_data() -> None:
    assert resources.files("tidebox.quality.dqdl").joinpath("grammar.lark").is_file()


# -- mistakes, each at its line and column --------------------------------------------------------


def test_an_error_is_one_line_naming_the_place() -> None:
    caught = error(
        """
        Rules = [
            RowCount > 0,
            Completeness "battery" between 0.5 and ]
        """
    )
    assert isinstance(caught, TideboxError)
    assert str(caught) == ("rules.dqdl:3:44: expected a value after 'between 0.5 and', found ']'")
    assert (caught.source, caught.line, caught.column) == ("rules.dqdl", 3, 44)
    assert "\n" not in str(caught)


# (ruleset, line, column, message): each a mistake of its own
MISTAKES = [
    # a list left open
    ('Rules = [\n    RowCount > 0,\n    IsComplete "a"\n', 3, 19,
     "expected a parameter, a condition, 'where', 'with threshold', 'labels', ',' or ']' "
     "after 'IsComplete \"a\"', found the end of the input"),
    # a missing comma between two rules
    ('Rules = [\n    IsComplete "a"\n    IsUnique "b"\n]', 3, 5,
     "IsComplete takes 1 parameter (TargetColumn), found 3; is a ',' missing before IsUnique?"),
    # an unterminated string
    ('Rules = [\n    RowCount > 0,\n    IsComplete "device_id\n]', 3, 16,
     "unterminated string: no closing quote"),
    # an undefined variable
    ('kinds = ["a"]\nRules = [\n    ColumnValues "t" in $kind\n]', 3, 25,
     "undefined variable $kind (variables: $kinds)"),
    # a keyword in the wrong case
    ("Rules = [ RowCount Between 1 and 5 ]", 1, 20,
     "RowCount takes no parameters, found 3; keywords are case-sensitive: write 'between'"),
    # a section out of place
    ('Rules = [ RowCount > 0 ]\nMetadata = { "Version": "1.0" }', 2, 1,
     "expected 'Analyzers' or the end of the input after ']', found 'Metadata'"),
    # a comparison with nothing to compare with
    ("Rules = [\n  RowCount >=\n]", 3, 1,
     "expected a value after 'RowCount >=', found ']'"),
    # a number condition on a duration metric
    ('Rules = [ DataFreshness "event_time" > 5 ]', 1, 38,
     "DataFreshness compares durations, not a number "
     "(for example: DataFreshness ... <= 24 hours)"),
    # a rule type with a parameter too few
    ('Rules = [ ColumnCorrelation "a" > 0.5 ]', 1, 11,
     "ColumnCorrelation takes 2 parameters (TargetColumn1, TargetColumn2), found 1"),
    # a rule that passes or fails alone, given a condition
    ('Rules = [ IsComplete "a" > 0.5 ]', 1, 26,
     "IsComplete takes no condition: it passes or fails alone"),
    # now() arithmetic outside parentheses
    ('Rules = [ ColumnValues "t" > now() - 1 days ]', 1, 30,
     "write now() arithmetic in parentheses, such as (now() - 3 days)"),
    # a function dynamic rules do not have
    ("Rules = [ RowCount > average(last(10)) ]", 1, 22,
     "unknown function 'average' "
     "(dynamic rules use last, avg, min, max, sum, median, stdev, std, index, abs)"),
    # last(k) of more than one value used as a number
    ("Rules = [ RowCount > last(3) ]", 1, 22,
     "last(3) is a list of earlier results: reduce it, as in avg(last(3))"),
    ("Rules = [ RowCount > abs(1, 2) ]", 1, 22,
     "abs takes one number, as in abs(avg(last(3)) - 10)"),
    # a composite part without parentheses
    ('Rules = [ (IsComplete "a") and IsUnique "a" ]', 1, 32,
     "expected '(' after '(IsComplete \"a\") and', found 'IsUnique'"),
    # a where clause on a rule type that takes none
    ('Rules = [ ColumnCount > 3 where "x > 1" ]', 1, 27,
     "ColumnCount does not take a where clause"),
    # a threshold on a rule type that takes none
    ("Rules = [ RowCount > 3 with threshold > 0.5 ]", 1, 24,
     "RowCount does not take 'with threshold'"),
    # not a calendar date
    ('Rules = [ ColumnValues "d" > "2024-02-30" ]', 1, 30,
     '"2024-02-30" is not a calendar date'),
    # a stray character
    ('Rules = [ ColumnValues "t" ≥ 3 ]', 1, 28,
     "unexpected character '≥'"),
    # an analyzer given a condition
    ('Analyzers = [ Completeness "a" > 0.5 ]', 1, 32,
     "expected a parameter, ',' or ']' after 'Completeness \"a\"', found '>' "
     "(an analyzer takes no condition)"),
    # an analyzer among the rules
    ('Rules = [ AllStatistics "t" ]', 1, 11,
     "AllStatistics is an analyzer: list it in Analyzers = [...]"),
    # nothing to check
    ("# nothing yet\nRules = [ ]", 2, 1,
     "the ruleset has no rules and no analyzers"),
    # a variable defined twice
    ('x = "a"\nx = "b"\nRules = [ CustomSql $x ]', 2, 1,
     "variable x is defined twice"),
    # a list variable where a string goes
    ('cols = ["a", "b"]\nRules = [ IsComplete $cols ]', 2, 22,
     "a rule parameter is a string, and $cols holds a list"),
    # a key Glue does not accept
    ('Metadata = { "Versions": "1.0" }\nRules = [ RowCount > 0 ]', 1, 14,
     'unsupported key "Versions" in Metadata (supported: "Version")'),
    # a label given twice
    ('Rules = [ RowCount > 0 labels=["a"="1", "a"="2"] ]', 1, 41,
     'label "a" is given twice'),
    # an empty where clause
    ('Rules = [ IsComplete "a" where "" ]', 1, 32,
     "the where clause is empty: give it a SQL predicate"),
    # strings compared by order
    ('Rules = [ ColumnValues "a" > "b" ]', 1, 30,
     "'>' compares numbers, dates, durations or sizes, not a string"),
    # an in list of mixed kinds
    ('Rules = [ ColumnValues "a" in [1, "b"] ]', 1, 35,
     "an 'in' list holds values of one kind: a string after a number"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "column", "problem"), MISTAKES)
def test_mistakes_are_reported_at_their_place(
    text: str, line: int, column: int, problem: str
) -> None:
    caught = error(text)
    assert (caught.line, caught.column, caught.problem) == (line, column, problem)
    assert str(caught) == f"rules.dqdl:{line}:{column}: {problem}"


def test_an_unterminated_string_that_swallowed_a_line_is_pointed_at() -> None:
    caught = error('Rules = [\n    IsComplete "a,\n    IsUnique "b"\n]')
    assert (caught.line, caught.column) == (2, 16)
    assert re.match(r"unterminated string: this string runs over a line break", caught.problem)


def test_load_ruleset_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.dqdl"
    path.write_text("Rules = [ RowCount > ]\n")
    with pytest.raises(DqdlSyntaxError, match=r"broken\.dqdl:1:22: expected a value"):
        load_ruleset(path)
