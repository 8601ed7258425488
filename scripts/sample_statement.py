"""Make docs/sample-statement.md and .csv from the demo world (`flask seed-demo`).

Run: .venv/bin/python scripts/sample_statement.py

In a throwaway SQLite database, with its own localstripe: the demo world is seeded, then the
demo budget holder (holder1@demo.example.org) joins the demo's open art-group pool by card and
Leeds Peer Voices on its £7 monthly fee. The pool is moved back in time (its chosen quote
starts 75 days ago) so that its months fall before today, and the pool jobs run on the dates
its schedule gives; the fee's first invoice reaches the site as Stripe's webhook would. An
admin records a payout for month one. Nothing here touches a real database or real Stripe.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="sample-statement-"))
os.environ["INSTANCE_DIR"] = str(TMP)
os.environ.setdefault("SECRET_KEY", "sample-statement-only")


def main() -> None:
    from sqlalchemy import select

    from marketplace import create_app, migrations
    from marketplace.auth.models import User
    from marketplace.db import utcnow
    from marketplace.demo.seed import seed
    from marketplace.extensions import db
    from marketplace.memberships import billing
    from marketplace.organisations.models import Organisation
    from marketplace.payments import payouts
    from marketplace.payments import services as payments
    from marketplace.payments.localstripe_server import free_port, start_process
    from marketplace.pools import funding, quotes, schedule
    from marketplace.pools import services as pools
    from marketplace.pools.models import Pool, PoolStatus, Quote
    from marketplace.statements import services as statements

    url = f"sqlite:///{TMP / 'sample.sqlite3'}"
    port = free_port()
    stripe_process = start_process(port)
    base = f"http://127.0.0.1:{port}"
    try:
        migrations.upgrade(url)
        app = create_app(
            {
                "DATABASE_URL": url,
                "STRIPE_API_BASE": base,
                "EMAIL_DELIVERY": "direct",
                "PUBLIC_BASE_URL": "http://127.0.0.1",  # nothing is served; links in files
            }
        )
        with app.app_context():
            session = db.session
            seed(session)
            session.commit()
            holder = session.scalars(
                select(User).where(User.email == "holder1@demo.example.org")
            ).one()
            admin = session.scalars(
                select(User).where(User.email == "admin@demo.example.org")
            ).one()
            ulo = session.scalars(
                select(Organisation).where(Organisation.name == "Leeds Peer Voices")
            ).one()
            pool = session.scalars(
                select(Pool).where(Pool.title.startswith("Evening art group"))
            ).one()
            card = payments.CardDetails("4242424242424242", 12, 2034, "123")

            # The holder joins the pool by card, then everyone votes for the one quote.
            saved = payments.save_card(session, holder, card, {"pool": str(pool.id)})
            pools.join(
                session,
                holder,
                pool,
                pools.Pledge(
                    3500, "card", payment_method_id=saved.payment_method_id,
                    card_description=f"{saved.brand} ending {saved.last4}",
                ),
            )  # fmt: skip
            session.commit()
            (offer,) = pool.quotes
            members = [m.user for m in pool.current_members]
            quotes.open_vote(session, pool.proposer, pool, utcnow() + timedelta(days=7))
            for person in members:
                if pool.status == PoolStatus.VOTING.value:
                    quotes.vote(session, person, pool, offer)
            session.commit()
            # As if the vote had closed months ago: the quote starts 75 days before today.
            session.get(Quote, offer.id).start_date = utcnow().date() - timedelta(days=75)
            session.commit()
            hold = schedule.start_of(schedule.hold_date(session, pool)) + timedelta(hours=9)
            funding.fund(session, pool, now=hold)
            for row in funding.payments_for(session, pool, 1):
                if row.status == "invoiced":
                    funding.accept_invoice(session, admin, row)
            session.commit()
            for month in (1, 2, 3):
                on = schedule.start_of(schedule.charge_date(session, pool, month))
                if month == 1:
                    funding.fund(session, pool, now=on + timedelta(hours=9))
                else:
                    funding.charge_due(session, now=on + timedelta(hours=9))
                session.commit()
            provider = session.get(Organisation, offer.organisation_id)
            month_one = payouts.owed_items(session, [provider.id])[provider.id][0]
            # Paid a week after month one was taken (the ledger itself writes the real day).
            paid_on = schedule.charge_date(session, pool, 1) + timedelta(days=7)
            payouts.record_payout(
                session, admin, provider, month_one.amount_pence, "BACS 000123", paid_on
            )
            session.commit()

            # The fee: Stripe takes the first month when the subscription starts.
            billing.join_paying(session, holder, ulo, card)
            customer = payments.stored_customer_id(session, holder)
            request = urllib.request.Request(  # noqa: S310 - our loopback localstripe
                f"{base}/v1/invoices?customer={customer}",
                headers={"Authorization": f"Bearer {app.config['STRIPE_API_KEY']}"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
                invoices = json.load(answer)["data"]
            for invoice in invoices:
                event = {
                    "id": f"evt_{invoice['id']}",
                    "object": "event",
                    "type": "invoice.payment_succeeded",
                    "created": invoice.get("created"),
                    "data": {"object": invoice},
                }
                payments.handle_event(session, event)
            statements.save_details(session, holder, "Alex Morgan", pool.council_id, "LDS-DP-0042")
            session.commit()

            today = utcnow().date()
            period = statements.DateRange(today - timedelta(days=90), today)
            statement = statements.statement_for(session, holder, period)
            csv_text = statements.as_csv(statement)
            (ROOT / "docs" / "sample-statement.csv").write_text(csv_text)
            (ROOT / "docs" / "sample-statement.md").write_text(markdown(statement, statements))
            print(f"Wrote docs/sample-statement.md and .csv ({len(statement.lines)} lines)")
    finally:
        stripe_process.terminate()
        stripe_process.wait(timeout=10)


def markdown(statement, statements) -> str:  # noqa: ANN001 - the module, imported late
    money = statements.pounds
    rows = [
        "| Date | What for | Service period | Provider | How paid | Reference | Where the money "
        "went | Amount | Running total |",
        "|---|---|---|---|---|---|---|--:|--:|",
    ]
    for line in statement.lines:
        address = line.provider.address.replace("\n", ", ")
        rows.append(
            f"| {statements.format_date(line.on)} | {line.what_for} | {line.service_period} | "
            f"{line.provider.name}, {address} | {line.how_paid} | `{line.reference}` | "
            f"{line.where_money_went} | {money(line.amount_pence)} | "
            f"{money(line.running_total_pence)} |"
        )
    return "\n".join(
        [
            "# Sample statement",
            "",
            "Made by `scripts/sample_statement.py` from the demo world (`flask seed-demo`): the",
            "demo budget holder joins the demo art-group pool by card and Leeds Peer Voices on",
            "its £7 fee; the pool's quote is moved to start 75 days ago so its months fall",
            "before today, and an admin records a payout for month one. The same statement is",
            "at **/statement** (page, CSV, printable). The CSV is",
            "[sample-statement.csv](sample-statement.csv). Names and addresses are made up.",
            "",
            f"- **Name:** {statement.holder_name}",
            f"- **Council:** {statement.council or 'Not given'}",
            f"- **Direct-payment reference:** {statement.direct_payment_reference or 'Not given'}",
            f"- **Dates:** {statement.range.words}",
            f"- **Made on:** {statements.format_date(statement.made_on)}, by Budget Marketplace",
            "",
            *rows,
            "",
            f"- **Total paid:** {money(statement.paid_pence)}",
            f"- **Total refunded:** {money(-statement.refunded_pence)}",
            f"- **Net total:** {money(statement.net_pence)}",
            "",
            FINANCE_OFFICER,
        ]
    )


FINANCE_OFFICER = """## Would a council finance officer accept it?

Checked against what councils usually ask of a direct-payment account (statements for the
period, what each payment was for, to whom, and evidence it was a care and support cost):

- **Yes, it identifies the person and period:** name (as the council knows them), council,
  direct-payment reference, the exact dates covered and the day it was made.
- **Yes, each payment is traceable:** date paid, the service period it paid for, the
  provider's name and address, how it was paid and a reference that matches Stripe's records
  (the charge key and the Stripe id) or the invoice. Refunds are separate lines on the day
  they happened, so the net spend is clear; running and net totals add up in pence.
- **It says truthfully where the money is:** the platform holds it and it is either owed to
  the provider or was paid on to them on a stated date. An officer can see that a payment
  owed but not yet paid on is still with the platform.
- **What an officer may still ask for:** the provider's own invoice or receipt for the
  service (receipts and numbered invoices are issue 18 items 1 and 2, built separately);
  the provider's registration (for example CQC) where the council needs it; and, for the
  membership fee, confirmation that a ULO fee is an agreed use of the budget. Until the
  platform records fee payouts to the ULO, fee lines say the fee is held by the platform.
"""


if __name__ == "__main__":
    main()
