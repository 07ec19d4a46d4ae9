"""What a shopper sees when opening an offer link: a redirect to a prefilled checkout, the
product choice page, or a friendly page when the link cannot be used.

Routes (under /plugins/channel/<channel>/<PLUGIN_ID>/):
- `l/<token>`: records the click; a choice offer goes on to its page, any other offer to a
  checkout in the storefront (302);
- `l/<token>/choose`: GET shows the products with their offered prices; POST `product=<id>`
  makes the checkout with that product and redirects to it.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string

from . import conf, links
from .checkouts import CheckoutError, Discount, get_gateway
from .conf import ChannelSettings
from .link_texts import page_text, page_texts
from .offers import OfferKind
from .texts import choose_language, format_date, format_money

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}
PROBLEM_PAGES = {404: "unknown", 410: "expired", 429: "busy", 503: "failed"}


def link_click(request: HttpRequest, channel: ChannelSettings, token: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not links.client_allowed(request):
        return problem_page(request, channel, 429)
    try:
        opened = links.open_link(token, channel)
    except links.LinkProblem as problem:
        return problem_page(request, channel, problem.status, problem.language)
    device = links.device_family(request.headers.get("User-Agent", ""))
    if request.method == "HEAD" or device == links.BOT:
        # Link previews and scanners get no checkout (it would carry the shopper's address).
        links.record_click(opened, links.BOT, "")
        home = links.store_url(channel, opened.language)
        return _redirect(home) if home else HttpResponse(status=204, headers=SECURITY_HEADERS)
    offer = opened.offer
    if offer is not None and offer.kind == OfferKind.CHOICE:
        url = links.choice_url(channel, opened.link)
        links.record_click(opened, device, url)
        return _redirect(url)
    if offer is None:  # a plain link to the store
        url = links.store_url(channel, opened.language)
        if not url:
            return problem_page(request, channel, 410, opened.language)
        links.record_click(opened, device, url)
        return _redirect(url)
    return _to_checkout(request, channel, opened, links.lines_for(opened), device)


def offer_choice(request: HttpRequest, channel: ChannelSettings, token: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    if not links.client_allowed(request):
        return problem_page(request, channel, 429)
    try:
        opened = links.open_link(token, channel)
    except links.LinkProblem as problem:
        return problem_page(request, channel, problem.status, problem.language)
    offer = opened.offer
    if offer is None or offer.kind != OfferKind.CHOICE:
        return problem_page(request, channel, 404, opened.language)
    if request.method == "POST":
        chosen = request.POST.get("product", "")
        if chosen not in offer.products:
            return _choice_page(request, channel, opened, status=400)
        device = links.device_family(request.headers.get("User-Agent", ""))
        return _to_checkout(request, channel, opened, [chosen], device, count_click=False)
    return _choice_page(request, channel, opened)


def _to_checkout(
    request: HttpRequest,
    channel: ChannelSettings,
    opened: links.OpenedLink,
    lines: list[str],
    device: str,
    *,
    count_click: bool = True,
) -> HttpResponse:
    try:
        ref = links.checkout_for(opened, channel, lines)
    except CheckoutError as error:
        logger.warning("No checkout for link %s: %r", opened.link.pk, error)
        return problem_page(request, channel, 503, opened.language)
    url = links.storefront_url(channel, ref, _storefront_language(opened))
    if count_click:
        links.record_click(opened, device, url)
    return _redirect(url)


def _storefront_language(opened: links.OpenedLink) -> str:
    order = opened.message.context.get("order") or {}
    return str(order.get("language_code") or opened.language)


def _choice_page(
    request: HttpRequest, channel: ChannelSettings, opened: links.OpenedLink, status: int = 200
) -> HttpResponse:
    offer = opened.offer
    assert offer is not None
    try:
        products = get_gateway().offered_products(
            channel.channel_slug,
            offer.products,
            Discount(offer.discount_type, offer.discount_value),
        )
    except CheckoutError as error:
        logger.warning("No products for link %s: %r", opened.link.pk, error)
        return problem_page(request, channel, 503, opened.language)
    if not products:
        return problem_page(request, channel, 410, opened.language)
    language = opened.language
    context: dict[str, Any] = {
        "language": language,
        "words": page_texts(language),
        "shop_name": channel.shop_name,
        "badge": _badge(offer, channel, language),
        "valid_until": page_text("valid_until", language).format(
            date=format_date(links.local_day(opened.link.expires_at, opened.message), language)
        ),
        "voucher_code": opened.link.voucher_code,
        "products": [
            {
                "ref": product.ref,
                "name": product.name,
                "image_url": product.image_url,
                "initial": product.name[:1].upper(),
                "price": format_money(product.price, product.currency, language),
                "offered_price": format_money(product.offered_price, product.currency, language),
                "reduced": product.offered_price < product.price,
            }
            for product in products
        ],
        "action": request.path,
    }
    html = render_to_string("saleor_sms_plugin/offer_choice.html", context, request=None)
    return HttpResponse(html, status=status, headers=_choice_headers(channel))


def _choice_headers(channel: ChannelSettings) -> dict[str, str]:
    # Browsers apply `form-action` to where the form's answer redirects too: the storefront.
    storefront = urlsplit(channel.values.get(conf.CHECKOUT_URL_TEMPLATE, ""))
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    if storefront.netloc:
        origin = f"{storefront.scheme}://{storefront.netloc}"
        policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}")
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


def _badge(offer: Any, channel: ChannelSettings, language: str) -> str:
    discount = links.format_offer_discount(offer, channel.currency, language)
    if offer.discount_value > Decimal(0):
        return "\N{MINUS SIGN}" + discount
    return discount


def problem_page(
    request: HttpRequest, channel: ChannelSettings, status: int, language: str = ""
) -> HttpResponse:
    """A friendly page in the shopper's language that says only what they can do about it."""
    language = language or choose_language(
        *accepted_languages(request),
        channel.default_language or channel.default_country or None,
    )
    kind = PROBLEM_PAGES.get(status, "unknown")
    words = page_texts(language)
    html = render_to_string(
        "saleor_sms_plugin/link_error.html",
        {
            "language": language,
            "title": words[f"{kind}_title"],
            "body": words[f"{kind}_body"],
            "to_store": words["to_store"],
            "store_url": links.store_url(channel, language),
            "shop_name": channel.shop_name,
        },
    )
    headers = dict(SECURITY_HEADERS)
    if status == 429:
        headers["Retry-After"] = "60"
    return HttpResponse(html, status=status, headers=headers)


def accepted_languages(request: HttpRequest) -> list[str]:
    """The browser's languages, most wanted first (Accept-Language lists them in order)."""
    header = request.headers.get("Accept-Language", "")
    return [part.split(";")[0].strip() for part in header.split(",")[:10] if part.strip()]


def _redirect(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
