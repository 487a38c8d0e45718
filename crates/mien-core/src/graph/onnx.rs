//! ONNX export of a [`Network`] (feature `onnx`): opset 17, float32, a dynamic batch axis.
//!
//! The network's input is `image` (`[batch, C, H, W]`); its outputs keep their names, with
//! the batch axis first (`[batch, D]` for vectors). Every [`Op`] becomes standard ONNX
//! operators, so any runtime that reads opset 17 runs the file; mien's tests check
//! onnxruntime's outputs against its own (`tools/onnx_check.py`).

use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{Dimension, dimension};
use onnx_protobuf::type_proto::{self, Value as TypeValue};
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType,
};

use super::{Activation, Dense, GraphError, Network, Op, Shape};

/// The ONNX operator set the export uses.
pub const OPSET: i64 = 17;
/// The ONNX file format version written (IR 8 is what opset 17 was released with).
pub const IR_VERSION: i64 = 8;
/// The name of the exported model's input.
pub const INPUT_NAME: &str = "image";
/// The name of the exported model's batch axis.
pub const BATCH_AXIS: &str = "batch";

/// `network` as an ONNX model file, with `metadata` as the model's metadata properties.
///
/// # Errors
/// [`GraphError::NoOutputs`] for a network without outputs; [`GraphError::Encode`] when
/// the model cannot be encoded (over protobuf's 2 GB).
pub fn export(network: &Network, metadata: &[(String, String)]) -> Result<Vec<u8>, GraphError> {
    if network.outputs().is_empty() {
        return Err(GraphError::NoOutputs);
    }
    let mut graph = Graph::default();
    for (i, node) in network.nodes().iter().enumerate() {
        let inputs: Vec<String> = node.inputs.iter().map(|&v| value_name(v)).collect();
        let input_shape = network.shape_of(node.inputs[0]);
        graph.op(
            &node.name,
            &node.op,
            &inputs,
            input_shape,
            &value_name(i + 1),
        );
    }
    let mut outputs = Vec::new();
    for (name, id) in network.outputs() {
        graph.node("Identity", name, &[&value_name(*id)], name, vec![]);
        outputs.push(value_info(name, Some(network.shape_of(*id))));
    }
    let proto = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        producer_name: "mien".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            name: "mien".into(),
            node: graph.nodes,
            initializer: graph.initializers,
            input: vec![value_info(INPUT_NAME, Some(network.input().into()))],
            output: outputs,
            ..Default::default()
        })
        .into(),
        metadata_props: metadata
            .iter()
            .map(|(key, value)| StringStringEntryProto {
                key: key.clone(),
                value: value.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    proto.write_to_bytes().map_err(GraphError::Encode)
}

/// The ONNX name of value `id`.
fn value_name(id: usize) -> String {
    match id {
        0 => INPUT_NAME.into(),
        id => format!("v{id}"),
    }
}

/// A float tensor `[batch, ...shape]` (the batch axis named [`BATCH_AXIS`]).
fn value_info(name: &str, shape: Option<Shape>) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(dimension::Value::DimParam(BATCH_AXIS.into())),
        ..Default::default()
    };
    let dims = shape.map(|s| s.dims()).unwrap_or_default();
    let dim = std::iter::once(batch)
        .chain(dims.into_iter().map(|d| Dimension {
            value: Some(dimension::Value::DimValue(d as i64)),
            ..Default::default()
        }))
        .collect();
    ValueInfoProto {
        name: name.into(),
        type_: Some(TypeProto {
            value: Some(TypeValue::TensorType(type_proto::Tensor {
                elem_type: DataType::FLOAT as i32,
                shape: Some(TensorShapeProto {
                    dim,
                    ..Default::default()
                })
                .into(),
                ..Default::default()
            })),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

/// Nodes and initializers as they are written.
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Graph {
    /// Appends `op` of node `name`, reading `inputs` and writing `out`.
    fn op(&mut self, name: &str, op: &Op, inputs: &[String], input_shape: Shape, out: &str) {
        let x = inputs[0].as_str();
        let tmp = |suffix: &str| format!("{name}/{suffix}");
        match op {
            Op::Conv(conv) => {
                let (w, b) = (tmp("weight"), tmp("bias"));
                let k = conv.kernel as i64;
                let dims = [
                    conv.channels_out as i64,
                    (conv.channels_in / conv.groups) as i64,
                    k,
                    k,
                ];
                self.float(&w, &dims, &conv.weight);
                self.float(&b, &[conv.channels_out as i64], &conv.bias);
                let (s, p) = (conv.stride as i64, conv.padding as i64);
                let attributes = vec![
                    ints("kernel_shape", &[k, k]),
                    ints("strides", &[s, s]),
                    ints("pads", &[p, p, p, p]),
                    int("group", conv.groups as i64),
                ];
                self.node("Conv", name, &[x, &w, &b], out, attributes);
            }
            Op::Dense(dense) => self.dense(name, dense, x, input_shape, out),
            Op::Activation(activation) => self.activation(name, *activation, x, out),
            Op::PRelu(alpha) => {
                let slope = tmp("slope");
                let dims: Vec<i64> = match (input_shape, alpha.len()) {
                    (_, 1) => vec![1],
                    (Shape::Spatial { channels, .. }, _) => vec![channels as i64, 1, 1],
                    (_, n) => vec![n as i64],
                };
                self.float(&slope, &dims, alpha);
                self.node("PRelu", name, &[x, &slope], out, vec![]);
            }
            Op::Pad { before, after } => {
                let pads = tmp("pads");
                let values: Vec<i64> = std::iter::once(0)
                    .chain(before.iter().map(|&p| p as i64))
                    .chain(std::iter::once(0))
                    .chain(after.iter().map(|&p| p as i64))
                    .collect();
                self.int64(&pads, &[8], &values);
                self.node("Pad", name, &[x, &pads], out, vec![]);
            }
            Op::Add => self.node("Add", name, &[x, &inputs[1]], out, vec![]),
            Op::Mul => self.node("Mul", name, &[x, &inputs[1]], out, vec![]),
            &Op::MaxPool {
                kernel,
                stride,
                padding,
            } => {
                let (k, s, p) = (kernel as i64, stride as i64, padding as i64);
                let attributes = vec![
                    ints("kernel_shape", &[k, k]),
                    ints("strides", &[s, s]),
                    ints("pads", &[p, p, p, p]),
                ];
                self.node("MaxPool", name, &[x], out, attributes);
            }
            Op::GlobalAveragePool => self.node("GlobalAveragePool", name, &[x], out, vec![]),
            Op::GlobalMaxPool => self.node("GlobalMaxPool", name, &[x], out, vec![]),
            Op::ChannelMean => self.reduce("ReduceMean", name, x, 1, true, out),
            Op::ChannelMax => self.reduce("ReduceMax", name, x, 1, true, out),
            Op::Squeeze => self.node("Flatten", name, &[x], out, vec![int("axis", 1)]),
            Op::Unsqueeze => {
                let axes = tmp("axes");
                self.int64(&axes, &[2], &[2, 3]);
                self.node("Unsqueeze", name, &[x, &axes], out, vec![]);
            }
            Op::Concat => {
                let all: Vec<&str> = inputs.iter().map(String::as_str).collect();
                self.node("Concat", name, &all, out, vec![int("axis", 1)]);
            }
            &Op::Resize { height, width } => {
                let (shape, batch_channels, size, sizes) = (
                    tmp("shape"),
                    tmp("batch_channels"),
                    tmp("size"),
                    tmp("sizes"),
                );
                self.node("Shape", &shape, &[x], &shape, vec![]);
                self.slice(&batch_channels, &shape, 0, 0, 2);
                self.int64(&size, &[2], &[height as i64, width as i64]);
                self.node(
                    "Concat",
                    &sizes,
                    &[&batch_channels, &size],
                    &sizes,
                    vec![int("axis", 0)],
                );
                let attributes = vec![
                    string("mode", "linear"),
                    string("coordinate_transformation_mode", "align_corners"),
                ];
                self.node("Resize", name, &[x, "", "", &sizes], out, attributes);
            }
            &Op::CropRows { start, end } => {
                self.slice_named(name, x, 2, start as i64, end as i64, out);
            }
            &Op::Slice { start, end } => {
                self.slice_named(name, x, 1, start as i64, end as i64, out);
            }
            Op::ToTokens => {
                let (shape, flat) = (tmp("shape"), tmp("flat"));
                let channels = input_shape.dims()[0] as i64;
                self.int64(&shape, &[3], &[0, channels, -1]);
                self.node("Reshape", &flat, &[x, &shape], &flat, vec![]);
                let perm = vec![ints("perm", &[0, 2, 1])];
                self.node("Transpose", name, &[&flat], out, perm);
            }
            Op::AddConstant(values) => {
                let constant = tmp("constant");
                let dims: Vec<i64> = std::iter::once(1)
                    .chain(input_shape.dims().into_iter().map(|d| d as i64))
                    .collect();
                self.float(&constant, &dims, values);
                self.node("Add", name, &[x, &constant], out, vec![]);
            }
            Op::PrependToken(token) => {
                let width = token.len() as i64;
                let names = ["token", "shape", "batch", "one_token", "target", "tokens"];
                let [t, shape, batch, one, target, tokens] = names.map(tmp);
                self.float(&t, &[1, 1, width], token);
                self.node("Shape", &shape, &[x], &shape, vec![]);
                self.slice(&batch, &shape, 0, 0, 1);
                self.int64(&one, &[2], &[1, width]);
                self.node(
                    "Concat",
                    &target,
                    &[&batch, &one],
                    &target,
                    vec![int("axis", 0)],
                );
                self.node("Expand", &tokens, &[&t, &target], &tokens, vec![]);
                self.node("Concat", name, &[&tokens, x], out, vec![int("axis", 1)]);
            }
            Op::LayerNorm {
                gamma,
                beta,
                epsilon,
            } => {
                let (g, b) = (tmp("gamma"), tmp("beta"));
                self.float(&g, &[gamma.len() as i64], gamma);
                self.float(&b, &[beta.len() as i64], beta);
                let attributes = vec![int("axis", -1), float("epsilon", *epsilon)];
                self.node("LayerNormalization", name, &[x, &g, &b], out, attributes);
            }
            Op::SelfAttention(attention) => {
                let width = input_shape.dims()[1] as i64;
                let heads = attention.heads as i64;
                let split = tmp("split_heads");
                self.int64(&split, &[4], &[0, 0, heads, width / heads]);
                let mut head_view = |role: &str, dense: &Dense, perm: &[i64]| {
                    let projected = tmp(role);
                    self.dense(&projected, dense, x, input_shape, &projected);
                    let split_name = tmp(&format!("{role}_heads"));
                    self.node(
                        "Reshape",
                        &split_name,
                        &[&projected, &split],
                        &split_name,
                        vec![],
                    );
                    let view = tmp(&format!("{role}_view"));
                    self.node(
                        "Transpose",
                        &view,
                        &[&split_name],
                        &view,
                        vec![ints("perm", perm)],
                    );
                    view
                };
                // [N, H, T, d_k], [N, H, d_k, T], [N, H, T, d_k].
                let q = head_view("query", &attention.query, &[0, 2, 1, 3]);
                let k = head_view("key", &attention.key, &[0, 2, 3, 1]);
                let v = head_view("value", &attention.value, &[0, 2, 1, 3]);
                let names = [
                    "scores", "scale", "scaled", "weights", "context", "merged", "merge",
                ];
                let [scores, scale, scaled, weights, context, merged, merge] = names.map(tmp);
                self.node("MatMul", &scores, &[&q, &k], &scores, vec![]);
                let d_k = (width / heads) as f32;
                self.float(&scale, &[], &[1.0 / d_k.sqrt()]);
                self.node("Mul", &scaled, &[&scores, &scale], &scaled, vec![]);
                self.node(
                    "Softmax",
                    &weights,
                    &[&scaled],
                    &weights,
                    vec![int("axis", -1)],
                );
                let heads_first = tmp("heads_context");
                self.node(
                    "MatMul",
                    &heads_first,
                    &[&weights, &v],
                    &heads_first,
                    vec![],
                );
                let perm = vec![ints("perm", &[0, 2, 1, 3])];
                self.node("Transpose", &context, &[&heads_first], &context, perm);
                self.int64(&merge, &[3], &[0, 0, width]);
                self.node("Reshape", &merged, &[&context, &merge], &merged, vec![]);
                self.dense(name, &attention.output, &merged, input_shape, out);
            }
            Op::MeanTokens => self.reduce("ReduceMean", name, x, 1, false, out),
            Op::FirstToken => {
                let index = tmp("index");
                self.int64(&index, &[], &[0]);
                self.node("Gather", name, &[x, &index], out, vec![int("axis", 1)]);
            }
            Op::Softmax => self.node("Softmax", name, &[x], out, vec![int("axis", -1)]),
        }
    }

    /// `x · W + b` on a vector (`Gemm`) or on each token (`MatMul`, `Add`).
    fn dense(&mut self, name: &str, dense: &Dense, x: &str, input_shape: Shape, out: &str) {
        let (w, b) = (format!("{name}/weight"), format!("{name}/bias"));
        let (inputs, outputs) = (dense.inputs as i64, dense.outputs as i64);
        self.float(&w, &[inputs, outputs], &dense.weight);
        self.float(&b, &[outputs], &dense.bias);
        if matches!(input_shape, Shape::Vector(_)) {
            self.node("Gemm", name, &[x, &w, &b], out, vec![]);
        } else {
            let product = format!("{name}/product");
            self.node("MatMul", &product, &[x, &w], &product, vec![]);
            self.node("Add", name, &[&product, &b], out, vec![]);
        }
    }

    fn activation(&mut self, name: &str, activation: Activation, x: &str, out: &str) {
        match activation {
            Activation::Relu => self.node("Relu", name, &[x], out, vec![]),
            Activation::Sigmoid => self.node("Sigmoid", name, &[x], out, vec![]),
            Activation::Silu => {
                let gate = format!("{name}/sigmoid");
                self.node("Sigmoid", &gate, &[x], &gate, vec![]);
                self.node("Mul", name, &[x, &gate], out, vec![]);
            }
            Activation::Gelu => {
                // x · ½ · (1 + erf(x / √2))
                let names = ["sqrt2", "one", "half", "scaled", "erf", "shifted", "gated"];
                let [sqrt2, one, half, scaled, erf, shifted, gated] =
                    names.map(|n| format!("{name}/{n}"));
                self.float(&sqrt2, &[], &[std::f32::consts::SQRT_2]);
                self.float(&one, &[], &[1.0]);
                self.float(&half, &[], &[0.5]);
                self.node("Div", &scaled, &[x, &sqrt2], &scaled, vec![]);
                self.node("Erf", &erf, &[&scaled], &erf, vec![]);
                self.node("Add", &shifted, &[&erf, &one], &shifted, vec![]);
                self.node("Mul", &gated, &[x, &shifted], &gated, vec![]);
                self.node("Mul", name, &[&gated, &half], out, vec![]);
            }
        }
    }

    /// `ReduceMean`/`ReduceMax` over one axis (opset 17 takes the axes as an attribute).
    fn reduce(&mut self, op: &str, name: &str, x: &str, axis: i64, keep: bool, out: &str) {
        let attributes = vec![ints("axes", &[axis]), int("keepdims", i64::from(keep))];
        self.node(op, name, &[x], out, attributes);
    }

    /// `x[start..end]` along `axis`, as node `name` writing `out`.
    fn slice_named(&mut self, name: &str, x: &str, axis: i64, start: i64, end: i64, out: &str) {
        let [s, e, a] = ["starts", "ends", "axes"].map(|n| format!("{name}/{n}"));
        self.int64(&s, &[1], &[start]);
        self.int64(&e, &[1], &[end]);
        self.int64(&a, &[1], &[axis]);
        self.node("Slice", name, &[x, &s, &e, &a], out, vec![]);
    }

    /// `x[start..end]` along `axis`, writing a value named `name`.
    fn slice(&mut self, name: &str, x: &str, axis: i64, start: i64, end: i64) {
        self.slice_named(name, x, axis, start, end, name);
    }

    fn node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[&str],
        out: &str,
        attribute: Vec<AttributeProto>,
    ) {
        self.nodes.push(NodeProto {
            op_type: op_type.into(),
            name: name.into(),
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![out.into()],
            attribute,
            ..Default::default()
        });
    }

    fn float(&mut self, name: &str, dims: &[i64], values: &[f32]) {
        self.initializers.push(TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: DataType::FLOAT as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
    }

    fn int64(&mut self, name: &str, dims: &[i64], values: &[i64]) {
        self.initializers.push(TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: DataType::INT64 as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INT.into(),
        i: value,
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INTS.into(),
        ints: values.to_vec(),
        ..Default::default()
    }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::FLOAT.into(),
        f: value,
        ..Default::default()
    }
}

fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::STRING.into(),
        s: value.as_bytes().to_vec(),
        ..Default::default()
    }
}
