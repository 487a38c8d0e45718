//! mien's convolution kernels as a burn backend extension: implemented for burn-flex with
//! [`super::conv`], and for `Autodiff<B>` with a hand-written backward that calls the gradient
//! kernels of the same trait.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend, DType, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use std::borrow::Cow;

use burn::tensor::{Shape, TensorData};

use super::batch_norm::{self, NormSettings, Planes};
use super::conv::{self, ConvGeometry};
use super::{dropout, pool};

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

    /// Batch normalisation with the batch's statistics, as burn's `batch_norm_train`, then a
    /// ReLU if `settings` asks for one: `(output, mean, biased variance)`.
    fn mien_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        settings: NormSettings,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        burn_batch_norm_train::<Self>(x, gamma, beta, settings)
    }

    /// The gradients of [`KernelOps::mien_batch_norm_train`], as burn's
    /// `batch_norm_train_backward` (behind the ReLU's, with one): `(d x, d γ, d β)`.
    fn mien_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        settings: NormSettings,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        burn_batch_norm_train_backward::<Self>(
            x,
            [gamma, beta],
            [mean, variance],
            settings,
            output_grad,
        )
    }

    /// `x [N, C, ...] · scale[c] + shift[c]`, then `max(0, ·)` with `relu`: batch normalisation
    /// in inference mode, with the running statistics folded into `scale` and `shift`.
    fn mien_channel_affine(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        relu: bool,
    ) -> FloatTensor<Self> {
        let y = broadcast_affine::<Self>(x, scale, shift);
        match relu {
            true => Self::relu(y),
            false => y,
        }
    }

    /// Dropout: `x / keep` where the element is kept, 0 elsewhere, each element kept with
    /// probability `keep` by a mask that `seed` alone decides. Linear in `x`, so its gradient is
    /// itself applied to the output gradient with the same seed.
    fn mien_dropout(x: FloatTensor<Self>, keep: f64, seed: u64) -> FloatTensor<Self>;

    /// 2-D max pooling without ceil mode, padding as `(begin, end)` pairs; ties go to the first
    /// maximum in scan order.
    fn mien_max_pool2d(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self>;

    /// The input gradient of [`KernelOps::mien_max_pool2d`] (not itself differentiable).
    fn mien_max_pool2d_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self>;
}

/// `x [N, C, ...] · scale[c] + shift[c]` with the backend's broadcasting operations.
fn broadcast_affine<B: Backend>(
    x: FloatTensor<B>,
    scale: FloatTensor<B>,
    shift: FloatTensor<B>,
) -> FloatTensor<B> {
    let mut per_channel = vec![1; x.shape().num_dims()];
    per_channel[1] = scale.shape()[0];
    let scale = B::float_reshape(scale, Shape::from(per_channel.clone()));
    let shift = B::float_reshape(shift, Shape::from(per_channel));
    B::float_add(B::float_mul(x, scale), shift)
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

/// The geometry of a max pool over `x: [N, C, H, W]`: that of a depthwise convolution with the
/// pooling window. The public entry point ([`super::max_pool2d`]) only sends `f32` tensors and
/// windows that fit.
fn pool_geometry(
    x: &FlexTensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
) -> ConvGeometry {
    let [batch, channels, h, w] = dims4(&x.shape()).unwrap_or_default();
    let [kh, kw] = kernel;
    ConvGeometry::new(
        [batch, channels, h, w],
        [channels, 1, kh, kw],
        stride,
        padding,
        dilation,
        channels,
    )
    .unwrap_or_else(|| ConvGeometry::empty(channels))
}

/// `x: [N, C, ...]` as planes, when it and the per-channel tensors are `f32` of matching sizes.
fn planes(x: &FlexTensor, per_channel: [&FlexTensor; 2]) -> Option<Planes> {
    let shape = x.shape();
    let dims = shape.as_slice();
    let all_f32 = x.dtype() == DType::F32 && per_channel.iter().all(|t| t.dtype() == DType::F32);
    let (&batch, &channels) = (dims.first()?, dims.get(1)?);
    let fits = per_channel
        .iter()
        .all(|t| t.shape().as_slice() == [channels]);
    (all_f32 && fits && channels > 0).then(|| Planes {
        batch,
        channels,
        plane: dims[2..].iter().product(),
    })
}

/// The tensor's values in row-major order, copied only when its layout is not already that.
fn values(tensor: &FlexTensor) -> Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => values.into(),
        None => tensor
            .to_contiguous()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_default()
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

    fn mien_batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        settings: NormSettings,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let Some(shape) = planes(&x, [&gamma, &beta]) else {
            return burn_batch_norm_train::<Flex>(x, gamma, beta, settings);
        };
        let (gamma, beta) = (values(&gamma), values(&beta));
        let norm = normalisation(&gamma, &beta, settings);
        let result = batch_norm::forward(shape, &values(&x), &norm);
        (
            flex_tensor(result.output, x.shape()),
            flex_tensor(result.mean, [shape.channels]),
            flex_tensor(result.variance, [shape.channels]),
        )
    }

    fn mien_batch_norm_train_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        settings: NormSettings,
        output_grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = planes(&x, [&gamma, &beta])
            .and_then(|shape| planes(&x, [&mean, &variance]).map(|_| shape))
            .filter(|_| output_grad.dtype() == DType::F32 && output_grad.shape() == x.shape());
        let Some(shape) = shape else {
            return burn_batch_norm_train_backward::<Flex>(
                x,
                [gamma, beta],
                [mean, variance],
                settings,
                output_grad,
            );
        };
        let (gamma, beta) = (values(&gamma), values(&beta));
        let grads = batch_norm::backward(
            shape,
            &values(&x),
            &normalisation(&gamma, &beta, settings),
            [&values(&mean), &values(&variance)],
            &values(&output_grad),
        );
        (
            flex_tensor(grads.x, x.shape()),
            flex_tensor(grads.gamma, [shape.channels]),
            flex_tensor(grads.beta, [shape.channels]),
        )
    }

    fn mien_max_pool2d(
        x: FlexTensor,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> FlexTensor {
        let geo = pool_geometry(&x, kernel, stride, padding, dilation);
        let out = pool::forward(&geo, &values(&x));
        flex_tensor(out, geo.out_shape())
    }

    fn mien_max_pool2d_backward(
        x: FlexTensor,
        output_grad: FlexTensor,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> FlexTensor {
        let geo = pool_geometry(&x, kernel, stride, padding, dilation);
        let dx = pool::backward(&geo, &values(&x), &values(&output_grad));
        flex_tensor(dx, x.shape())
    }

    fn mien_channel_affine(
        x: FlexTensor,
        scale: FlexTensor,
        shift: FlexTensor,
        relu: bool,
    ) -> FlexTensor {
        let Some(shape) = planes(&x, [&scale, &shift]) else {
            let y = broadcast_affine::<Flex>(x, scale, shift);
            return if relu { Flex::relu(y) } else { y };
        };
        let (scale, shift) = (values(&scale), values(&shift));
        let out = batch_norm::channel_affine(shape, &values(&x), &scale, &shift, relu);
        flex_tensor(out, x.shape())
    }

    fn mien_dropout(x: FlexTensor, keep: f64, seed: u64) -> FlexTensor {
        if x.dtype() != DType::F32 {
            let mask = Flex::float_random(
                x.shape(),
                burn::tensor::Distribution::Bernoulli(keep),
                &x.device(),
                x.dtype().into(),
            );
            return Flex::float_mul_scalar(Flex::float_mul(x, mask), (1.0 / keep).into());
        }
        flex_tensor(dropout::forward(&values(&x), keep, seed), x.shape())
    }
}

/// The per-channel slices and settings of a batch normalisation, for the kernels.
fn normalisation<'a>(
    gamma: &'a [f32],
    beta: &'a [f32],
    settings: NormSettings,
) -> batch_norm::Normalisation<'a> {
    batch_norm::Normalisation {
        gamma,
        beta,
        epsilon: settings.epsilon,
        relu: settings.relu,
    }
}

/// [`KernelOps::mien_batch_norm_train`] with burn's operations.
fn burn_batch_norm_train<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    settings: NormSettings,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let result = B::batch_norm_train(x, gamma, beta, settings.epsilon);
    let output = match settings.relu {
        true => B::relu(result.output),
        false => result.output,
    };
    (output, result.mean, result.variance)
}

/// [`KernelOps::mien_batch_norm_train_backward`] with burn's operations.
fn burn_batch_norm_train_backward<B: Backend>(
    x: FloatTensor<B>,
    [gamma, beta]: [FloatTensor<B>; 2],
    [mean, variance]: [FloatTensor<B>; 2],
    settings: NormSettings,
    output_grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let output_grad = match settings.relu {
        true => {
            // The batch statistics are the same, so is the output the ReLU saw.
            let y = B::batch_norm_train(x.clone(), gamma.clone(), beta, settings.epsilon);
            B::relu_backward(B::relu(y.output), output_grad)
        }
        false => output_grad,
    };
    let grads =
        B::batch_norm_train_backward(x, gamma, mean, variance, settings.epsilon, output_grad);
    (grads.x_grad, grads.gamma_grad, grads.beta_grad)
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

    fn mien_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        settings: NormSettings,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let prepared = BatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let (output, mean, variance) = match prepared {
            OpsKind::Tracked(mut prep) => {
                let inputs = [&x, &gamma, &beta].map(|t| prep.checkpoint(t));
                let (output, mean, variance) = B::mien_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    settings,
                );
                let state = BatchNormState {
                    inputs,
                    statistics: [mean.clone(), variance.clone()],
                    settings,
                };
                (prep.finish(state, output), mean, variance)
            }
            OpsKind::UnTracked(prep) => {
                let (output, mean, variance) = B::mien_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    settings,
                );
                (prep.finish(output), mean, variance)
            }
        };
        // The statistics only feed the running averages: no gradient flows through them.
        (output, Self::from_inner(mean), Self::from_inner(variance))
    }

    fn mien_max_pool2d(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self> {
        let window = PoolWindow {
            kernel,
            stride,
            padding,
            dilation,
        };
        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), window);
                let out = B::mien_max_pool2d(x.into_primitive(), kernel, stride, padding, dilation);
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::mien_max_pool2d(
                x.into_primitive(),
                kernel,
                stride,
                padding,
                dilation,
            )),
        }
    }

    fn mien_dropout(x: FloatTensor<Self>, keep: f64, seed: u64) -> FloatTensor<Self> {
        match DropoutBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(
                (keep, seed),
                B::mien_dropout(x.into_primitive(), keep, seed),
            ),
            OpsKind::UnTracked(prep) => {
                prep.finish(B::mien_dropout(x.into_primitive(), keep, seed))
            }
        }
    }

    fn mien_max_pool2d_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self> {
        Self::from_inner(B::mien_max_pool2d_backward(
            x.into_primitive(),
            output_grad.into_primitive(),
            kernel,
            stride,
            padding,
            dilation,
        ))
    }
}

/// A max pool's window, as saved for its backward pass.
#[derive(Debug, Clone, Copy)]
struct PoolWindow {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
}

/// The backward pass of a max pool.
#[derive(Debug)]
struct MaxPoolBackward;

impl<B: Backend + KernelOps> Backward<B, 1> for MaxPoolBackward {
    type State = (NodeId, PoolWindow);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents.map(|node| node.map(|n| n.id));
        let grad = grads.consume::<B>(&ops.node);
        let (x, w) = ops.state;
        let x = checkpointer.retrieve_node_output(x);
        if let Some(id) = node_x {
            let dx =
                B::mien_max_pool2d_backward(x, grad, w.kernel, w.stride, w.padding, w.dilation);
            grads.register::<B>(id, dx);
        }
    }
}

/// The backward pass of a batch normalisation in training mode.
#[derive(Debug)]
struct BatchNormBackward;

/// What [`BatchNormBackward`] keeps from the forward pass.
#[derive(Debug, Clone)]
struct BatchNormState<B: Backend> {
    /// The checkpoints of `x`, γ and β.
    inputs: [NodeId; 3],
    /// The batch mean and biased variance.
    statistics: [FloatTensor<B>; 2],
    settings: NormSettings,
}

impl<B: Backend + KernelOps> Backward<B, 3> for BatchNormBackward {
    type State = BatchNormState<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents.map(|node| node.map(|n| n.id));
        let grad = grads.consume::<B>(&ops.node);
        let BatchNormState {
            inputs,
            statistics,
            settings,
        } = ops.state;
        let [x, gamma, beta] = inputs.map(|id| checkpointer.retrieve_node_output(id));
        let [mean, variance] = statistics;
        let (dx, dgamma, dbeta) =
            B::mien_batch_norm_train_backward(x, gamma, beta, mean, variance, settings, grad);
        for (node, grad) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(id) = node {
                grads.register::<B>(id, grad);
            }
        }
    }
}

/// The backward pass of dropout: the same mask, applied to the gradient.
#[derive(Debug)]
struct DropoutBackward;

impl<B: Backend + KernelOps> Backward<B, 1> for DropoutBackward {
    /// The keep probability and the mask's seed.
    type State = (f64, u64);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents.map(|node| node.map(|n| n.id));
        let grad = grads.consume::<B>(&ops.node);
        let (keep, seed) = ops.state;
        if let Some(id) = node_x {
            grads.register::<B>(id, B::mien_dropout(grad, keep, seed));
        }
    }
}
