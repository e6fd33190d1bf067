"""``mcapi emulator faults ...`` and ``quotas ...``: the rules that make a running emulator
misbehave on purpose (``/_emulator/faults``), listed, added and removed. ``quotas`` is a
shorthand for the fault rules at the rate-limit step (``"at": "quota"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mcapi.cli._admin_client import (
    AdminClient,
    AdminCommandError,
    admin_options,
    console,
    echo_json,
    faults_table,
    quota_line,
)

__all__ = ["faults", "quotas"]


@click.group()
def faults() -> None:
    """Scripted faults (docs/faults.md): error answers, latency, broken connections."""


@faults.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
@admin_options
def faults_list(admin: AdminClient, as_json: bool) -> None:
    """The installed rules, with the calls each matched and won."""
    rules = admin.call("GET", "faults").get("rules", [])
    if as_json:
        echo_json(rules)
        return
    if not rules:
        click.echo("no fault rules")
        return
    console().print(faults_table(rules))


@faults.command("add")
@click.argument("rule")
@admin_options
def faults_add(admin: AdminClient, rule: str) -> None:
    """Add a rule given as JSON, or @FILE holding the JSON.

    \b
    mcapi emulator faults add '{"match": {"path": "/api/*", "times": 2},
                                "effect": {"status": 500, "sub_code": "0006"}}'
    """
    text = rule
    if rule.startswith("@"):
        try:
            text = Path(rule[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {rule[1:]}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"the rule is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise click.BadParameter("the rule must be a JSON object")
    answer = admin.call("POST", "faults", body=document)
    click.echo(f"fault rule {answer.get('id')} added")


@faults.command("remove")
@click.argument("rule_id")
@admin_options
def faults_remove(admin: AdminClient, rule_id: str) -> None:
    """Remove one rule by its id."""
    admin.call("DELETE", f"faults/{rule_id}")
    click.echo(f"fault rule {rule_id} removed")


@faults.command("clear")
@admin_options
def faults_clear(admin: AdminClient) -> None:
    """Remove every rule."""
    admin.call("DELETE", "faults")
    click.echo("every fault rule removed")


# ---- forced quotas: a shorthand for fault rules at the rate-limit step -----------------------


def _quota_rules(admin: AdminClient) -> list[dict[str, Any]]:
    rules = admin.call("GET", "faults").get("rules", [])
    return [rule for rule in rules if rule.get("at") == "quota"]


@click.group()
def quotas() -> None:
    """Deterministic 429s: "the Nth call to this function gets 429 0008".

    A shorthand for fault rules with "at": "quota" (docs/faults.md): `faults list` shows them
    too, and `faults clear` removes them with the others.
    """


@quotas.command("force")
@click.option("--path", required=True, help="Function path or glob, e.g. /api/audit/*.")
@click.option("--call", "call_number", type=click.IntRange(min=1), required=True)
@click.option("--reset-ms", type=click.IntRange(min=1), required=True, help="X-RateLimit-Reset.")
@click.option("--user", "user_email", help="Only this user's calls (default: anyone's).")
@admin_options
def quotas_force(
    admin: AdminClient, path: str, call_number: int, reset_ms: int, user_email: str | None
) -> None:
    """Make the --call-th call to --path get 429 0008 with X-RateLimit-Reset --reset-ms."""
    match: dict[str, Any] = {"path": path, "call_number": call_number}
    if user_email:
        match["user"] = user_email
    effect = {"status": 429, "sub_code": "0008", "reset_ms": reset_ms}
    answer = admin.call("POST", "faults", body={"at": "quota", "match": match, "effect": effect})
    click.echo(f"forced quota rule {answer.get('id')} added")


@quotas.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
@admin_options
def quotas_list(admin: AdminClient, as_json: bool) -> None:
    """The forced 429 rules (the fault rules at "quota")."""
    rules = _quota_rules(admin)
    if as_json:
        echo_json(rules)
        return
    for rule in rules:
        click.echo(quota_line(rule))
    if not rules:
        click.echo("no forced quota rules")


@quotas.command("remove")
@click.argument("rule_id")
@admin_options
def quotas_remove(admin: AdminClient, rule_id: str) -> None:
    """Remove one forced quota rule."""
    if rule_id not in {rule.get("id") for rule in _quota_rules(admin)}:
        raise AdminCommandError(f"no forced quota rule {rule_id}")
    admin.call("DELETE", f"faults/{rule_id}")
    click.echo(f"forced quota rule {rule_id} removed")


@quotas.command("clear")
@admin_options
def quotas_clear(admin: AdminClient) -> None:
    """Remove every forced quota rule (the other fault rules stay)."""
    for rule in _quota_rules(admin):
        admin.call("DELETE", f"faults/{rule['id']}")
    click.echo("every forced quota rule removed")
