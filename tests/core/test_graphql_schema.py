"""The committed SDL (schema.graphql) is the schema the API serves."""

from pathlib import Path

from django.core.management import call_command

from saleor_sms_plugin.graphql.schema import SDL_PATH, print_sdl

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schema_matches_the_served_one():
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")

    assert committed == print_sdl(), (
        "schema.graphql is out of date. Regenerate it with: "
        "DJANGO_SETTINGS_MODULE=tests.settings python -m django sms_graphql_schema --write"
    )


def test_the_command_prints_the_schema(capsys):
    call_command("sms_graphql_schema")

    assert capsys.readouterr().out == print_sdl()
    assert SDL_PATH == ROOT / "schema.graphql"


def test_every_mutation_answers_with_errors_in_saleors_style():
    sdl = print_sdl()

    for payload in (
        "SendTestMessage",
        "SendMessage",
        "ScheduleWinBackCampaign",
        "CancelScheduledMessage",
        "SetConsent",
        "RetryFailedMessages",
    ):
        block = sdl.split(f"type {payload} {{", 1)[1].split("}", 1)[0]
        assert "errors: [SmsError!]!" in block
    assert "type SmsError {\n  field: String\n  code: SmsErrorCode!\n  message: String\n}" in sdl
