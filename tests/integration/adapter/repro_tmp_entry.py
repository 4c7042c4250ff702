import json, time, threading
from decimal import Decimal
from support.live_node import IID, MAX_LADDER, WALLET, OpenOrderSampler, finish, start_node, twin_position, write_live_yaml
from support.twin_client import wait_until

def test_repro(twin, tmp_path):
    twin.engine.config.refuse_duplicate_cloids = False
    cfg = write_live_yaml(tmp_path, twin.url)
    sampler = OpenOrderSampler(twin)
    twin.faults.lose_answer(3, "/exchange", delay_ms=600, action="order")
    proc = start_node(cfg, 10, tmp_path / "out.json")
    wait_until(lambda: len(twin.open_orders(WALLET.address)) > 0, timeout_s=8)
    twin.faults.lose_answer(3, "/exchange", delay_ms=600, action="batchModify")  # then the ladder's moves
    rc, text = finish(proc)
    after_stop = len(twin.open_orders(WALLET.address))
    time.sleep(2)
    sampler.close()
    res = json.loads((tmp_path / "out.json").read_text())
    print("\nREPRO rc", rc, "answers_lost", twin.faults.answers_lost, "max_open", sampler.max_open,
          "max_per_cloid", sampler.max_per_cloid, "node_pos", res["positions"].get(IID), "venue_pos", twin_position(twin),
          "errors", res["errors"][:5], "n_errors", len(res["errors"]), "open_after_stop", after_stop,
          "open_2s_later", len(twin.open_orders(WALLET.address)), "fills", res["fills"], len(twin.fills(WALLET.address)),
          {k: res.get(k) for k in ("unknown_outcomes", "late_fills", "http_lookups", "http_retries")})
