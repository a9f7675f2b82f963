"""ONNX operators the TensorRT ONNX parser supports, and a check of exported graphs.

Source: the "Operator Support Matrix" of ``docs/operators.md`` in
https://github.com/onnx/onnx-tensorrt for TensorRT 10.15 ("supports operators in the
inclusive range of opset 9 to opset 24"); every operator marked ``Y`` is listed. Type and
attribute restrictions of that table (e.g. ``axes`` as initializers) are not checked
here; the GPU tests parse the real graphs with TensorRT.
"""

from __future__ import annotations

__all__ = ["TENSORRT_ONNX_OPS", "TENSORRT_MAX_OPSET", "unsupported_operators"]

#: Highest ONNX opset TensorRT 10.15's parser accepts.
TENSORRT_MAX_OPSET = 24

#: Default-domain ONNX operators marked supported (``Y``) for TensorRT 10.15.
TENSORRT_ONNX_OPS = frozenset(
    """
    Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool
    BatchNormalization BlackmanWindow Cast CastLike Ceil Celu Clip Concat Constant
    ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DeformConv DepthToSpace
    DequantizeLinear Div Dropout Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor
    Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool
    Greater GreaterOrEqual GridSample GroupNormalization GRU HammingWindow HannWindow
    HardSigmoid HardSwish Hardmax Identity If ImageScaler InstanceNormalization IsInf
    IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LRN LSTM
    LpNormalization LpPool MatMul Max MaxPool Mean MeanVarianceNormalization Min Mish Mod
    Mul Neg NonMaxSuppression NonZero Not OneHot Or Pad ParametricSoftplus Pow PRelu
    QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range
    Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean
    ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence
    RMSNormalization RNN RoiAlign RotaryEmbedding Round STFT ScaledTanh Scan Scatter
    ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax
    Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh TensorScatter
    ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor
    """.split()
)


def unsupported_operators(model) -> set[str]:
    """Operators of an ONNX model that TensorRT's parser would reject.

    Parameters
    ----------
    model : bytes, str, pathlib.Path or onnx.ModelProto

    Returns
    -------
    set of str
        ``op_type`` (prefixed ``domain:`` outside the default domain) of every node not in
        :data:`TENSORRT_ONNX_OPS`, plus ``"opset>N"`` when the default-domain opset is newer
        than :data:`TENSORRT_MAX_OPSET`. Empty when the graph is parseable.
    """
    import onnx

    from astro_galflow.backends.export import onnx_operators

    if isinstance(model, bytes):
        model = onnx.load_from_string(model)
    elif not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    # Model-local functions are inlined by the parser: their own names are not operators.
    local = {(f.domain, f.name) for f in model.functions}
    bad = set()
    for domain, op in onnx_operators(model):
        if (domain, op) in local:
            continue
        if domain in ("", "ai.onnx"):
            if op not in TENSORRT_ONNX_OPS:
                bad.add(op)
        else:
            bad.add(f"{domain}:{op}")
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version > TENSORRT_MAX_OPSET:
            bad.add(f"opset>{TENSORRT_MAX_OPSET}")
    return bad
