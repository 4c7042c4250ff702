"""The end-of-run table of ``botmm live``: the venue's figures first, anything left open called out
loudly with what the node will (not) do, and an unreadable venue said plainly."""

from __future__ import annotations

from botmm_nautilus.apps.live_status import budget_text
from botmm_nautilus.apps.live_status import end_table
from botmm_nautilus.apps.live_status import status_lines


def test_end_table_calls_out_a_leftover_position_resting_orders_and_a_node_venue_mismatch():
    venue = {"positions": {"ETH": -0.0218, "SOL": 1.5}, "open_orders": {"BTC": 2},
             "position_values_usd": {"ETH": 93.54, "SOL": 300.0}}
    lines = end_table(["BTC", "ETH"], {"BTC": 0.0, "ETH": -0.0218}, {"BTC": 0.1, "ETH": -0.2}, {"BTC": 1, "ETH": 4},
                      venue)
    text = "\n".join(lines)
    assert lines[0] == "botmm live: end of run (positions and orders as the venue reports them)"
    rows = {line.split()[0]: line.split() for line in lines[2:] if not line.startswith("!!!")}
    assert rows["BTC"][1:4] == ["+0", "+0", "2"] and rows["ETH"][1:3] == ["-0.0218", "-0.0218"]
    assert rows["SOL"][1:4] == ["+1.5", "+0", "0"]  # a coin the node did not trade but the venue holds
    assert "!!! LEFTOVER POSITION: ETH -0.0218 (about 93.54 USD) is still open at the venue" in text
    assert "!!! LEFTOVER POSITION: SOL +1.5 (about 300.00 USD)" in text
    assert "!!! ORDERS STILL RESTING: BTC has 2 open order(s) at the venue" in text
    assert "will not close it" in text and "will not cancel them" in text  # what the node will do
    assert not any("the node believed" in line and "ETH" in line for line in lines)
    flat = end_table(["BTC"], {"BTC": 0.0}, {"BTC": 0.0}, {"BTC": 0}, {"positions": {}, "open_orders": {}})
    assert not any(line.startswith("!!!") for line in flat)
    mismatch = end_table(["BTC"], {"BTC": 0.001}, {"BTC": 0.0}, {"BTC": 1}, {"positions": {"BTC": 0.002}, "open_orders": {}})
    assert any(line.startswith("!!! BTC: the node believed +0.001 but the venue holds +0.002") for line in mismatch)


def test_end_table_without_the_venue_says_so_and_falls_back_to_the_node():
    lines = end_table(["BTC"], {"BTC": 0.004}, {"BTC": 1.0}, {"BTC": 3}, None, "HttpError: connection refused")
    assert lines[0] == "botmm live: end of run (the venue could not be read: HttpError: connection refused; node's belief only)"
    assert lines[2].split()[1:3] == ["?", "+0.004"]
    assert any(line.startswith("!!! LEFTOVER POSITION: BTC +0.004") for line in lines)


def test_status_line_and_budget_text():
    rate = {"address_requests_used": 163, "address_requests_cap": 10_000, "ip_weight_budget_per_min": 1200.0,
            "ip_weight_per_min": 195.4}
    assert budget_text(rate) == "address actions left 9,837/10,000; IP weight 195/1,200 per min"
    assert budget_text(None) == "rate budget n/a"
    [line] = status_lines([{"coin": "BTC", "position": 0.00051, "pnl_usd": -0.031, "quotes": 4, "fills": 3}],
                          budget_text(rate), 65.0)
    assert line == ("[status +00:01:05] BTC   position +0.00051  PnL -0.03 USD  quotes resting 4  fills 3  |  "
                    "address actions left 9,837/10,000; IP weight 195/1,200 per min")
