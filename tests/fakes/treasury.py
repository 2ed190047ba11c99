"""Wire rows of Fiscal Data's debt_to_penny, public_debt_transactions, auctions_query and upcoming_auctions.

Built from a History: "public_debt" (dollars) per business day, "net_bills" and "net_coupons" ($mn) per
business day, and History.auctions (auctions_query rows as the API sends them, all values strings).
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.fakes.history import History, business_days

Row = dict[str, str]

_DTS_COMMON = {"table_nbr": "III-A", "table_nm": "Public Debt Transactions", "src_line_nbr": "1"}


def debt_rows(history: History) -> list[Row]:
    rows: list[Row] = []
    for day, total in sorted(history.values("public_debt").items()):
        public = round(total * 0.8047, 2)
        rows.append(
            {
                "record_date": day,
                "debt_held_public_amt": f"{public:.2f}",
                "intragov_hold_amt": f"{total - public:.2f}",
                "tot_pub_debt_out_amt": f"{total:.2f}",
                "src_line_nbr": "1",
            }
        )
    return rows


def transaction_rows(history: History) -> list[Row]:
    rows: list[Row] = []
    bills, coupons = history.values("net_bills"), history.values("net_coupons")
    for day in sorted(bills.keys() | coupons.keys()):
        for security, net in (("Bills", bills.get(day)), ("Notes", coupons.get(day))):
            if net is None:
                continue
            issues = max(net, 0.0) + 40_000
            for direction, amount in (("Issues", issues), ("Redemptions", issues - net)):
                rows.append(
                    {
                        "record_date": day,
                        "transaction_type": direction,
                        "security_market": "Marketable",
                        "security_type": security,
                        "security_type_desc": "null",
                        "transaction_today_amt": f"{amount:.0f}",
                        "transaction_mtd_amt": "null",
                        "transaction_fytd_amt": "null",
                        **_DTS_COMMON,
                    }
                )
        rows.append(
            {
                "record_date": day,
                "transaction_type": "Issues",
                "security_market": "Nonmarketable",
                "security_type": "Government Account Series",
                "security_type_desc": "null",
                "transaction_today_amt": "350000",
                "transaction_mtd_amt": "null",
                "transaction_fytd_amt": "null",
                **_DTS_COMMON,
            }
        )
    return rows


def auction_row(
    auction_date: str,
    security_type: str,
    term: str,
    issue_date: str,
    offering_bn: float,
    *,
    bid_to_cover: float | None,
    dealer: float = 0.15,
    indirect: float = 0.67,
    rate: float = 4.2,
    cusip: str = "912797XX0",
) -> Row:
    """One auctions_query row; bidder splits are shares of the amount accepted from the public."""
    dollars = offering_bn * 1e9

    def amount(value: float) -> str:
        return "null" if bid_to_cover is None else f"{value:.0f}"

    is_bill = security_type == "Bill"
    return {
        "record_date": auction_date,
        "cusip": cusip,
        "security_type": security_type,
        "security_term": term,
        "reopening": "No",
        "announcemt_date": (date.fromisoformat(auction_date) - timedelta(days=5)).isoformat(),
        "auction_date": auction_date,
        "issue_date": issue_date,
        "maturity_date": "null",
        "offering_amt": f"{dollars:.0f}",
        "total_tendered": amount(dollars * (bid_to_cover or 0)),
        "total_accepted": amount(dollars),
        "primary_dealer_accepted": amount(dollars * dealer),
        "direct_bidder_accepted": amount(dollars * (1 - dealer - indirect)),
        "indirect_bidder_accepted": amount(dollars * indirect),
        "soma_accepted": amount(0),
        "bid_to_cover_ratio": "null" if bid_to_cover is None else f"{bid_to_cover:.2f}",
        "high_yield": "null" if is_bill or bid_to_cover is None else f"{rate:.3f}",
        "high_discnt_rate": "null" if not is_bill or bid_to_cover is None else f"{rate:.3f}",
        "high_investment_rate": "null" if not is_bill or bid_to_cover is None else f"{rate + 0.07:.3f}",
    }


def add_treasury(history: History, start: date, end: date) -> None:
    """Debt growing about $7B a business day, daily net issuance and a weekly 4-week bill auction."""
    debt = history.series.setdefault("public_debt", {})
    bills = history.series.setdefault("net_bills", {})
    coupons = history.series.setdefault("net_coupons", {})
    level = 38_300e9
    for n, day in enumerate(business_days(start, end)):
        iso = day.isoformat()
        level += 7e9 + (n % 5 - 2) * 3e9
        debt[iso] = round(level, 2)
        bills[iso] = float((n % 7 - 3) * 9_000)
        coupons[iso] = 60_000.0 if day.day == 15 or (day.day == 16 and day.weekday() == 0) else 0.0
        if day.weekday() == 1:  # Tuesday 4-week bills, issued Thursday
            issue = (day + timedelta(days=2)).isoformat()
            history.auctions.append(
                auction_row(iso, "Bill", "4-Week", issue, 80.0, bid_to_cover=2.9 + (n % 3) * 0.05)
            )


def upcoming_rows(history: History) -> list[Row]:
    """Announced auctions without results, as upcoming_auctions lists them."""
    keep = ("record_date", "security_type", "security_term", "reopening", "cusip", "offering_amt",
            "announcemt_date", "auction_date", "issue_date")  # fmt: skip
    return [{k: row[k] for k in keep} for row in history.auctions if row["bid_to_cover_ratio"] == "null"]
