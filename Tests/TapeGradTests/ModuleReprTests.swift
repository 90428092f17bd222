import Testing
import TapeGrad

/// `print(model)` prints PyTorch 2.15's module repr (the strings are PyTorch's `repr`).
@Suite struct ModuleReprTests {
    @Test func layersInASequential() throws {
        let model = Sequential([
            Linear(4, 3), ReLU(), Dropout(p: 0.1), LayerNorm(3), try GELU(approximate: "tanh"), try Embedding(10, 3, paddingIdx: 0),
            BatchNorm2d(3), Conv2d(3, 8, kernelSize: 3, padding: 1, bias: false), MaxPool2d(kernelSize: 3, stride: 2, padding: 1),
            AdaptiveAvgPool2d(outputSize: 1), Linear(3, 2, bias: false), SiLU(), Softplus(), RMSNorm(3), AvgPool2d(kernelSize: 2),
            Identity(), Flatten(),
        ])
        #expect("\(model)" == """
            Sequential(
              (0): Linear(in_features=4, out_features=3, bias=True)
              (1): ReLU()
              (2): Dropout(p=0.1, inplace=False)
              (3): LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True)
              (4): GELU(approximate='tanh')
              (5): Embedding(10, 3, padding_idx=0)
              (6): BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
              (7): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
              (8): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
              (9): AdaptiveAvgPool2d(output_size=1)
              (10): Linear(in_features=3, out_features=2, bias=False)
              (11): SiLU()
              (12): Softplus(beta=1.0, threshold=20.0)
              (13): RMSNorm((3,), eps=None, elementwise_affine=True)
              (14): AvgPool2d(kernel_size=2, stride=2, padding=0)
              (15): Identity()
              (16): Flatten(start_dim=1, end_dim=-1)
            )
            """)
    }

    @Test func foldedListsDictsAndSettings() throws {
        #expect("\(ModuleList([Linear(2, 2), Linear(2, 2), Linear(2, 2)]))" == """
            ModuleList(
              (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)
            )
            """)
        #expect("\(ModuleDict([("a", ReLU()), ("b", Linear(1, 1))]))" == """
            ModuleDict(
              (a): ReLU()
              (b): Linear(in_features=1, out_features=1, bias=True)
            )
            """)
        #expect("\(LayerNorm([3, 4], elementwiseAffine: false))" == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=False, bias=False)")
        #expect("\(Conv2d(3, 8, kernelSize: Size2D(3, 1), stride: Size2D(2, 1), dilation: 2))" == "Conv2d(3, 8, kernel_size=(3, 1), stride=(2, 1), dilation=(2, 2))")
        #expect("\(BatchNorm2d(3, momentum: 0.2, trackRunningStats: false))" == "BatchNorm2d(3, eps=1e-05, momentum=0.2, affine=True, bias=True, track_running_stats=False)")
        #expect("\(AdaptiveAvgPool2d(outputSize: Size2D(2, 3)))" == "AdaptiveAvgPool2d(output_size=(2, 3))")
        #expect("\(try GELU())" == "GELU(approximate='none')")
    }

    /// nanoGPT's printout, but for the class names (TapeGrad's are `GPTBlock`, `CausalSelfAttention`, `GPTMLP`).
    @Test func gpt() throws {
        let model = try GPT(GPTConfig(blockSize: 8, vocabSize: 16, layers: 2, heads: 2, embedding: 8))
        #expect("\(model)" == """
            GPT(
              (transformer): ModuleDict(
                (wte): Embedding(16, 8)
                (wpe): Embedding(8, 8)
                (h): ModuleList(
                  (0-1): 2 x GPTBlock(
                    (ln_1): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
                    (attn): CausalSelfAttention(
                      (c_attn): Linear(in_features=8, out_features=24, bias=True)
                      (c_proj): Linear(in_features=8, out_features=8, bias=True)
                    )
                    (ln_2): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
                    (mlp): GPTMLP(
                      (c_fc): Linear(in_features=8, out_features=32, bias=True)
                      (c_proj): Linear(in_features=32, out_features=8, bias=True)
                    )
                  )
                )
                (ln_f): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
              )
              (lm_head): Linear(in_features=8, out_features=16, bias=False)
            )
            """)
    }
}
