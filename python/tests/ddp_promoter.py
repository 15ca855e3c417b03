"""One rank of a data-parallel run (DistributedDataParallel over gloo, on
the CPU): trains a tiny CNN on its shard of the promoter task's training
split, predicts its shard of valid and test, and rank 0 writes every
rank's predictions as one run and scores it.

    python ddp_promoter.py STORE RANK WORLD_SIZE SCRATCH   (MASTER_ADDR, MASTER_PORT set)
"""

import sys

import torch
import torch.distributed as dist
from torch import nn

import dnabench


def main() -> None:
    store_path, rank, world, _scratch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    store = dnabench.Store(store_path)
    model = nn.Sequential(nn.Conv1d(4, 8, 9), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(8, 1))
    ddp = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.AdamW(ddp.parameters(), lr=1e-2)
    train = store.loader("promoter", "train", batch_size=64, seed=0, rank=rank, world_size=world)
    seen = 0
    # The shards differ a little in size: join() lets a rank that runs out
    # of batches first shadow the other's all-reduces.
    with ddp.join():
        for step, batch in enumerate(train):
            if step == 20:
                break
            loss = nn.functional.binary_cross_entropy_with_logits(ddp(batch["x"]), batch["y"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(batch["example_id"])
    print(f"rank {rank} examples {seen}", flush=True)
    ids, outputs = [], []
    with torch.no_grad():
        for split in ("valid", "test"):
            for batch in store.loader("promoter", split, batch_size=256, rank=rank, world_size=world):
                ids.extend(batch["example_id"].to_pylist())
                outputs.append(model(batch["x"]))
    gathered = [None] * world
    dist.all_gather_object(gathered, (ids, torch.cat(outputs).numpy()))
    if rank == 0:
        for rank_ids, rank_outputs in gathered:
            store.write_predictions("ddp-cnn", rank_ids, rank_outputs, dataset="promoter")
        store.commit_predictions("ddp-cnn", model="DDP CNN", config={"seed": 0, "world_size": world})
        store.eval("ddp-cnn")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
