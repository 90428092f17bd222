"""Records what PyTorch 2.15 does with optimizer parameter groups, for ParameterGroupTests:
the weights after three steps of each optimizer with two groups (float64), the printout of a
two-group AdamW, the state dict's group entries, and a warmup-then-cosine schedule over two
groups with different rates. Prints JSON; the test inlines the numbers."""
import json
import torch

torch.set_default_dtype(torch.float64)


def problem():
    w = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
    b = torch.tensor([0.1, -0.2], requires_grad=True)
    x = torch.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0], [2.0, 1.0, 0.0], [-1.0, 0.5, 1.5]])
    return w, b, x


def train(make):
    w, b, x = problem()
    opt = make(w, b)
    for _ in range(3):
        opt.zero_grad()
        loss = ((x @ w.t() + b).tanh() ** 2).sum()
        loss.backward()
        opt.step()
    return [w.detach().flatten().tolist(), b.detach().tolist()]


out = {}
out["adamw"] = train(lambda w, b: torch.optim.AdamW(
    [{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0, "lr": 0.05}], lr=0.01))
out["sgd"] = train(lambda w, b: torch.optim.SGD(
    [{"params": [w]}, {"params": [b], "momentum": 0.5, "lr": 0.2}], lr=0.1, momentum=0.9))
out["rmsprop"] = train(lambda w, b: torch.optim.RMSprop(
    [{"params": [w], "centered": True}, {"params": [b], "momentum": 0.3}], lr=0.01))
out["adagrad"] = train(lambda w, b: torch.optim.Adagrad(
    [{"params": [w], "initial_accumulator_value": 0.5}, {"params": [b], "lr_decay": 0.1}], lr=0.1))

w, b, _ = problem()
# An int weight decay prints `0`, as TapeGrad prints an integral option.
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0, "lr": 0.05}], lr=0.01)
out["adamw_repr"] = repr(opt)
sd = opt.state_dict()
out["adamw_groups"] = [{k: (v if not isinstance(v, tuple) else list(v)) for k, v in g.items()} for g in sd["param_groups"]]

w, b, _ = problem()
opt = torch.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.3}], lr=0.1)
warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.01)
sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[3])
rates = [[g["lr"] for g in opt.param_groups]]
for _ in range(8):
    opt.step()
    sched.step()
    rates.append([g["lr"] for g in opt.param_groups])
out["schedule"] = rates
out["last_lr"] = sched.get_last_lr()
print(json.dumps(out, indent=1))
