"""Build a C8-equivariant two-layer network, check it honestly, export it to plain torch."""
import torch

from equinet import groups, testing
from equinet.nn import EquivariantSequential, FieldType, ReLU, SteerableConv2d

G = groups.cyclic(8)
f_in, f_hid = FieldType.trivial(G, 1), FieldType.regular(G, 4)
net = EquivariantSequential(SteerableConv2d(f_in, f_hid, 5), ReLU(f_hid), SteerableConv2d(f_hid, f_in, 5))

# exact on the grid-preserving elements (90° turns), an honest measured error at 45°
report = testing.check_equivariance(net, f_in, f_in)
print(report)
assert report.max_error(grid=True) < 1e-5

plain = net.export()  # nn.Conv2d / nn.ReLU only
x = torch.randn(2, 1, 33, 33)
assert torch.allclose(plain(x), net(x), atol=1e-5)
print("exported module agrees:", type(plain).__name__)
