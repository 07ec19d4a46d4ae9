"""Where a recipient's clock stands: time zones from a country and its region.

Countries come from CLDR's territory -> zones table, which Babel ships (`phonenumberslite`, the
variant Saleor installs, has no time zone data). A country with one zone needs nothing more. For
countries spanning several zones, the address region (Saleor's `country_area`) picks the zone
where the table below knows it; otherwise every zone of the country stays a candidate and the
quiet-hour rules keep to the hours that are open in all of them (see `quiet_hours`).
"""

from __future__ import annotations

import functools
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import get_global

# The predominant zone of each region in the countries that span several zones, keyed by the
# codes Saleor's address normalisation stores (and the names a shopper may have typed).
_US = {
    "America/New_York": "CT DC DE FL GA MA MD ME MI NC NH NJ NY OH PA RI SC VA VT WV IN KY "
    "CONNECTICUT DISTRICT_OF_COLUMBIA DELAWARE FLORIDA GEORGIA MASSACHUSETTS MARYLAND MAINE "
    "MICHIGAN NORTH_CAROLINA NEW_HAMPSHIRE NEW_JERSEY NEW_YORK OHIO PENNSYLVANIA RHODE_ISLAND "
    "SOUTH_CAROLINA VIRGINIA VERMONT WEST_VIRGINIA INDIANA KENTUCKY PR VI PUERTO_RICO",
    "America/Chicago": "AL AR IA IL KS LA MN MO MS ND NE OK SD TN TX WI ALABAMA ARKANSAS IOWA "
    "ILLINOIS KANSAS LOUISIANA MINNESOTA MISSOURI MISSISSIPPI NORTH_DAKOTA NEBRASKA OKLAHOMA "
    "SOUTH_DAKOTA TENNESSEE TEXAS WISCONSIN",
    "America/Denver": "CO MT NM UT WY ID COLORADO MONTANA NEW_MEXICO UTAH WYOMING IDAHO",
    "America/Phoenix": "AZ ARIZONA",
    "America/Los_Angeles": "CA NV OR WA CALIFORNIA NEVADA OREGON WASHINGTON",
    "America/Anchorage": "AK ALASKA",
    "Pacific/Honolulu": "HI HAWAII",
}
_CA = {
    "America/St_Johns": "NL NEWFOUNDLAND_AND_LABRADOR",
    "America/Halifax": "NS PE NOVA_SCOTIA PRINCE_EDWARD_ISLAND",
    "America/Moncton": "NB NEW_BRUNSWICK",
    "America/Toronto": "ON QC ONTARIO QUEBEC",
    "America/Winnipeg": "MB MANITOBA",
    "America/Regina": "SK SASKATCHEWAN",
    "America/Edmonton": "AB NT ALBERTA NORTHWEST_TERRITORIES",
    "America/Vancouver": "BC BRITISH_COLUMBIA",
    "America/Whitehorse": "YT YUKON",
    "America/Iqaluit": "NU NUNAVUT",
}
_AU = {
    "Australia/Sydney": "NSW ACT NEW_SOUTH_WALES AUSTRALIAN_CAPITAL_TERRITORY",
    "Australia/Melbourne": "VIC VICTORIA",
    "Australia/Brisbane": "QLD QUEENSLAND",
    "Australia/Adelaide": "SA SOUTH_AUSTRALIA",
    "Australia/Perth": "WA WESTERN_AUSTRALIA",
    "Australia/Hobart": "TAS TASMANIA",
    "Australia/Darwin": "NT NORTHERN_TERRITORY",
}
_BR = {
    "America/Sao_Paulo": "SP RJ MG ES PR SC RS GO DF SAO_PAULO RIO_DE_JANEIRO MINAS_GERAIS "
    "ESPIRITO_SANTO PARANA SANTA_CATARINA RIO_GRANDE_DO_SUL GOIAS DISTRITO_FEDERAL",
    "America/Bahia": "BA BAHIA",
    "America/Fortaleza": "CE MA PI RN PB CEARA MARANHAO PIAUI RIO_GRANDE_DO_NORTE PARAIBA",
    "America/Recife": "PE PERNAMBUCO",
    "America/Maceio": "AL SE ALAGOAS SERGIPE",
    "America/Belem": "PA AP PARA AMAPA",
    "America/Araguaina": "TO TOCANTINS",
    "America/Cuiaba": "MT MATO_GROSSO",
    "America/Campo_Grande": "MS MATO_GROSSO_DO_SUL",
    "America/Manaus": "AM RR AMAZONAS RORAIMA",
    "America/Porto_Velho": "RO RONDONIA",
    "America/Rio_Branco": "AC ACRE",
}
_MX = {
    "America/Tijuana": "BC BAJA_CALIFORNIA",
    "America/Mazatlan": "BCS SIN NAY BAJA_CALIFORNIA_SUR SINALOA NAYARIT",
    "America/Hermosillo": "SON SONORA",
    "America/Chihuahua": "CHH CHIH CHIHUAHUA",
    "America/Cancun": "ROO Q_ROO QUINTANA_ROO",
}
REGION_ZONES: dict[str, dict[str, str]] = {
    "US": _US,
    "CA": _CA,
    "AU": _AU,
    "BR": _BR,
    "MX": _MX,
}
# Mexico's remaining states share Mexico City's clock.
COUNTRY_DEFAULT_ZONES = {"MX": "America/Mexico_City"}


def _region_key(region: str) -> str:
    ascii_only = unicodedata.normalize("NFKD", region).encode("ascii", "ignore").decode()
    cleaned = "".join(char if char.isalnum() else " " for char in ascii_only.upper())
    return "_".join(cleaned.split())


@functools.cache
def _region_index(country: str) -> dict[str, str]:
    return {
        region: zone
        for zone, regions in REGION_ZONES.get(country, {}).items()
        for region in regions.split()
    }


@functools.cache
def zones_for(country: str, region: str = "") -> tuple[ZoneInfo, ...]:
    """The candidate time zones of someone living in `country` (ISO code) and `region`.

    One zone when the country has one, or the region names one; all the country's zones
    when it spans several and the region is unknown; () for an unknown country.
    """
    country = (country or "").upper()
    names: list[str] = list(get_global("territory_zones").get(country, ()))
    if len(names) > 1:
        picked = _region_index(country).get(_region_key(region)) if region else None
        picked = picked or COUNTRY_DEFAULT_ZONES.get(country)
        if picked:
            names = [picked]
    return tuple(_load(name) for name in names if _loadable(name))


def zone_name_for(country: str, region: str = "") -> str:
    """The zone's IANA name when country and region resolve to exactly one zone, else ''."""
    zones = zones_for(country, region)
    return zones[0].key if len(zones) == 1 else ""


def _loadable(name: str) -> bool:
    try:
        _load(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@functools.cache
def _load(name: str) -> ZoneInfo:
    return ZoneInfo(name)
