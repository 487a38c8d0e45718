//! mien's convolution kernels as a burn backend extension: implemented for burn-flex with
//! [`super::conv`], and for `Autodiff<B>` with a hand-written backward that calls the gradient
//! kernels of the same trait.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DType, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Shape, TensorData};

use super::conv::{self, ConvGeometry};

/// The operations mien runs with its own kernels. Every method's default body is burn's own
/// operation, so a backend that does not override one behaves exactly like burn.
#[backend_extension(Flex, Autodiff)]
pub trait KernelOps: Backend {
    /// 2-D convolution without bias, as burn's `ModuleOps::conv2d`.
    fn mien_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// 2-D convolution with bias. (A separate method because burn 0.22's `backend_extension`
    /// macro does not route `Option<FloatTensor>` arguments.)
    fn mien_conv2d_biased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, Some(bias), options)
    }

    /// The input gradient of [`KernelOps::mien_conv2d`] (and of the biased form), as burn's `conv2d_x_backward`.
    fn mien_conv2d_input_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    /// The weight gradient of [`KernelOps::mien_conv2d`] (and of the biased form), as burn's `conv2d_weight_backward`.
    fn mien_conv2d_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }

    /// The bias gradient of [`KernelOps::mien_conv2d_biased`], as burn's `conv2d_bias_backward`.
    fn mien_conv2d_bias_grad(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::conv2d_bias_backward(x, bias, output_grad)
    }
}

/// The shapes of `x` and `weight` with burn's options, when both are `f32` (the only type mien's
/// kernels take; others go to burn-flex's own operations).
fn geometry(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<ConvGeometry> {
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    ConvGeometry::new(
        dims4(&x.shape())?,
        dims4(&weight.shape())?,
        options.stride,
        options.padding,
        options.dilation,
        options.groups,
    )
}

fn dims4(shape: &Shape) -> Option<[usize; 4]> {
    shape.as_slice().try_into().ok()
}

/// The tensor's values in row-major order, copied only when its layout is not already that.
fn values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => values.into(),
        None => tensor
            .to_contiguous()
            .as_slice::<f32>()
            .unwrap_or_default()
            .to_vec()
            .into(),
    }
}

fn flex_tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

fn flex_conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: ConvOptions<2>,
) -> FlexTensor {
    let Some(geo) = geometry(&x, &weight, &options) else {
        return Flex::conv2d(x, weight, bias, options);
    };
    let bias = bias.as_ref().map(values);
    let out = conv::forward(&geo, &values(&x), &values(&weight), bias.as_deref());
    flex_tensor(out, geo.out_shape())
}

impl KernelOps for Flex {
    fn mien_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        flex_conv2d(x, weight, None, options)
    }

    fn mien_conv2d_biased(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        flex_conv2d(x, weight, Some(bias), options)
    }

    fn mien_conv2d_input_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(geo) = geometry(&x, &weight, &options) else {
            return Flex::conv2d_x_backward(x, weight, output_grad, options);
        };
        let dx = conv::input_grad(&geo, &values(&weight), &values(&output_grad));
        flex_tensor(dx, x.shape())
    }

    fn mien_conv2d_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(geo) = geometry(&x, &weight, &options) else {
            return Flex::conv2d_weight_backward(x, weight, output_grad, options);
        };
        let dw = conv::weight_grad(&geo, &values(&x), &values(&output_grad));
        flex_tensor(dw, geo.weight_shape())
    }

    fn mien_conv2d_bias_grad(
        x: FlexTensor,
        bias: FlexTensor,
        output_grad: FlexTensor,
    ) -> FlexTensor {
        let shape = output_grad.shape();
        let (Some([batch, channels, out_h, out_w]), DType::F32) =
            (dims4(&shape), output_grad.dtype())
        else {
            return Flex::conv2d_bias_backward(x, bias, output_grad);
        };
        let sums = conv::bias_grad([batch, channels, out_h * out_w], &values(&output_grad));
        flex_tensor(sums, [channels])
    }
}

/// What a convolution's backward pass needs: the input's and weight's checkpoints and the options.
type ConvState = (NodeId, NodeId, ConvOptions<2>);

/// The backward pass of a convolution without bias.
#[derive(Debug)]
struct ConvBackward;

/// The backward pass of a convolution with bias.
#[derive(Debug)]
struct ConvBiasBackward;

impl<B: Backend + KernelOps> Backward<B, 2> for ConvBackward {
    type State = ConvState;

    fn backward(
        self,
        ops: Ops<ConvState, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents.map(|node| node.map(|n| n.id));
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, options) = ops.state;
        let x = checkpointer.retrieve_node_output(x);
        let weight = checkpointer.retrieve_node_output(weight);
        register_input_and_weight_grads::<B>(
            [node_x, node_weight],
            x,
            weight,
            options,
            grad,
            grads,
        );
    }
}

impl<B: Backend + KernelOps> Backward<B, 3> for ConvBiasBackward {
    type State = (ConvState, NodeId);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents.map(|node| node.map(|n| n.id));
        let grad = grads.consume::<B>(&ops.node);
        let ((x, weight, options), bias) = ops.state;
        // Each checkpoint is retrieved exactly once.
        let x: FloatTensor<B> = checkpointer.retrieve_node_output(x);
        let weight = checkpointer.retrieve_node_output(weight);
        let bias = checkpointer.retrieve_node_output(bias);
        if let Some(id) = node_bias {
            grads.register::<B>(id, B::mien_conv2d_bias_grad(x.clone(), bias, grad.clone()));
        }
        register_input_and_weight_grads::<B>(
            [node_x, node_weight],
            x,
            weight,
            options,
            grad,
            grads,
        );
    }
}

/// Registers the weight and input gradients of a convolution, for the parents that track one.
fn register_input_and_weight_grads<B: Backend + KernelOps>(
    [node_x, node_weight]: [Option<NodeId>; 2],
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    options: ConvOptions<2>,
    grad: FloatTensor<B>,
    grads: &mut Gradients,
) {
    if let Some(id) = node_weight {
        let dw =
            B::mien_conv2d_weight_grad(x.clone(), weight.clone(), grad.clone(), options.clone());
        grads.register::<B>(id, dw);
    }
    if let Some(id) = node_x {
        grads.register::<B>(id, B::mien_conv2d_input_grad(x, weight, grad, options));
    }
}

impl<B: Backend + KernelOps, C: CheckpointStrategy> KernelOps for Autodiff<B, C> {
    fn mien_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                );
                let out = B::mien_conv2d(x.into_primitive(), weight.into_primitive(), options);
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::mien_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn mien_conv2d_biased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvBiasBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let conv = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                );
                let state = (conv, prep.checkpoint(&bias));
                let out = B::mien_conv2d_biased(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    options,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::mien_conv2d_biased(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
            )),
        }
    }
}
