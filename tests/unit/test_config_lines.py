"""config_lines' edits (module_utils/storeops_config_lines.py): lineinfile's rule, N at once."""

from __future__ import annotations

import pytest
import storeops_config_lines as config_lines  # module_utils/, as the hosts import it
from storeops_config_lines import EditResult, LineEdit

AUDITD = "log_file = /var/log/audit/audit.log\nmax_log_file_action = ROTATE\n# disk_full_action = SUSPEND\n"


def actions(results: list[EditResult]) -> list[str]:
    return [result.action for result in results]


def test_the_last_matching_line_is_replaced_and_a_missing_one_appended() -> None:
    text, results = config_lines.apply_edits(
        AUDITD,
        [
            LineEdit(r"^\s*max_log_file_action\s*=", "max_log_file_action = keep_logs"),
            LineEdit(r"^\s*disk_full_action\s*=", "disk_full_action = suspend"),
        ],
    )
    assert text == (
        "log_file = /var/log/audit/audit.log\nmax_log_file_action = keep_logs\n"
        "# disk_full_action = SUSPEND\ndisk_full_action = suspend\n"
    )
    assert actions(results) == ["replaced", "appended"]


def test_a_file_already_right_is_returned_as_it_is() -> None:
    edits = [LineEdit(r"^\s*max_log_file_action\s*=", "max_log_file_action = ROTATE")]
    text, results = config_lines.apply_edits(AUDITD.rstrip("\n"), edits)
    assert text == AUDITD.rstrip("\n")  # not even a newline added
    assert actions(results) == ["unchanged"]


def test_of_several_matches_only_the_last_is_replaced() -> None:
    text, _ = config_lines.apply_edits("deny = 1\ndeny = 2\n", [LineEdit(r"^deny\s*=", "deny = 5")])
    assert text == "deny = 1\ndeny = 5\n"


def test_a_line_present_without_a_match_is_not_added_again() -> None:
    text, results = config_lines.apply_edits(
        "enforce_for_root\n", [LineEdit(r"^\s*#\s*enforce_for_root", "enforce_for_root")]
    )
    assert (text, actions(results)) == ("enforce_for_root\n", ["unchanged"])


def test_edits_apply_in_order_on_the_edited_text() -> None:
    text, results = config_lines.apply_edits("", [LineEdit(r"^a=", "a=1"), LineEdit(r"^a=", "a=2")])
    assert (text, actions(results)) == ("a=2\n", ["appended", "replaced"])


def test_an_empty_file_gets_every_line() -> None:
    text, _ = config_lines.apply_edits("", [LineEdit(r"^x", "x 1"), LineEdit(r"^y", "y 2")])
    assert text == "x 1\ny 2\n"


@pytest.mark.parametrize("line", ["a = 1\nb = 2", "a = 1\r"])
def test_a_line_with_a_line_break_is_refused(line: str) -> None:
    with pytest.raises(ValueError, match="one line only"):
        config_lines.apply_edits("", [LineEdit(r"^a", line)])
