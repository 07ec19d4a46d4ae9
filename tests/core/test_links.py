"""Link tokens: short, random, signed; anything else is refused before a lookup."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleor_sms_plugin import links
from saleor_sms_plugin.conf import ChannelSettings
from saleor_sms_plugin.link_texts import KEYS, TEXTS
from saleor_sms_plugin.texts import SHIPPED_LANGUAGES


def test_a_token_is_32_url_safe_characters_carrying_128_random_bits_and_a_signature():
    key = links.new_key()
    token = links.sign(key)

    assert len(token) == links.TOKEN_LENGTH == 32
    assert links.TOKEN_RE.match(token)
    assert len(base64.urlsafe_b64decode(key + "==")) * 8 == 128
    assert links.verify(token) == key


def test_keys_do_not_repeat():
    assert len({links.new_key() for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize("position", [0, 5, 21, 22, 31])
def test_a_token_with_one_character_changed_is_refused(position):
    token = links.sign(links.new_key())
    changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]

    with pytest.raises(links.InvalidToken):
        links.verify(changed)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "x" * 31, "x" * 33, "!" * 32, "x" * 31 + "=", "../../etc/passwd" * 2],
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(links.InvalidToken):
        links.verify(token)


def test_a_token_signed_with_another_secret_is_refused(settings):
    key = links.new_key()
    token = links.sign(key)

    settings.SECRET_KEY = "another secret key, for another installation"
    with pytest.raises(links.InvalidToken):
        links.verify(token)


def test_tokens_survive_a_secret_key_rotation_through_the_fallbacks(settings):
    key = links.new_key()
    token = links.sign(key)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the new secret key"

    assert links.verify(token) == key


def test_a_forged_token_is_refused_without_touching_the_database(db):
    channel = ChannelSettings.build("default-channel", True, {})
    forged = links.new_key() + "AAAAAAAAAA"

    with CaptureQueriesContext(connection) as queries, pytest.raises(links.InvalidToken):
        links.open_link(forged, channel)

    assert len(queries) == 0


@pytest.mark.parametrize(
    ("user_agent", "family"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            links.MOBILE,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0 Mobile Safari/537.36",
            links.MOBILE,
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            links.TABLET,
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0 Safari/537.36",
            links.TABLET,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0 Safari/537.36",
            links.DESKTOP,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.4 Safari/605.1.15",
            links.DESKTOP,
        ),
        ("facebookexternalhit/1.1 Facebot Twitterbot/1.0", links.BOT),
        ("WhatsApp/2.24.6.77 A", links.BOT),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", links.BOT),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", links.BOT),
        ("curl/8.5.0", links.BOT),
        ("python-httpx/0.27.0", links.BOT),
        ("", links.OTHER),
        ("SomethingElse/1.0", links.OTHER),
    ],
)
def test_the_device_family_comes_from_the_user_agent(user_agent, family):
    assert links.device_family(user_agent) == family


def test_the_link_pages_speak_every_language_of_the_catalogue():
    assert set(TEXTS) == set(SHIPPED_LANGUAGES)
    for language, words in TEXTS.items():
        assert list(words) == list(KEYS), language
        assert all(words.values()), language
        assert "{date}" in words["valid_until"], language
