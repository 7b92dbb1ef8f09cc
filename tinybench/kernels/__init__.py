"""Integer training kernels of tinybench: the Numba reference of ``firmware/kernels``.

Every ``tb_*`` function here has a C twin of the same name, parameters and loop structure
in ``firmware/kernels/src/<Category>/<name>.c`` (prototypes in
``firmware/kernels/include/tb_kernels.h``); :mod:`tinybench.kernels.host_c` builds those
for the host and wraps them with ctypes. The semantics are in docs/kernels.md. Their compiled
code is cached in tinybench's cache folder (:mod:`tinybench.kernels.numba_cache`).
"""

from tinybench.kernels.numba_cache import kernel_cache

with kernel_cache():  # before the kernels are decorated: see numba_cache
    from tinybench.kernels.convolution import (
        tb_conv_fwd_s8,
        tb_depthwise_fwd_s8,
        tb_pointwise_fwd_s8,
    )
    from tinybench.kernels.convolution_backward import (
        tb_conv_bwd_input_s8,
        tb_conv_bwd_weight_s32,
        tb_depthwise_bwd_input_s8,
        tb_depthwise_bwd_weight_s32,
        tb_pointwise_bwd_input_s8,
        tb_pointwise_bwd_weight_s32,
    )
    from tinybench.kernels.fused import tb_pwdw_fwd_s8
    from tinybench.kernels.elementwise import tb_add_bwd_s8, tb_add_fwd_s8, tb_channel_copy_fwd_s8, tb_grad_sum_bwd_s8
    from tinybench.kernels.loss import tb_softmax_ce_bwd_s8
    from tinybench.kernels.pooling import tb_avgpool_bwd_s8, tb_avgpool_fwd_s8
    from tinybench.kernels.update import (
        tb_conv_bwd_weight_sgd_s8,
        tb_depthwise_bwd_weight_sgd_s8,
        tb_pointwise_bwd_weight_sgd_s8,
        tb_sgd_update_s8,
        tb_sgd_update_s32,
    )

#: Every kernel, by name (the same names as the C functions), in header order.
KERNELS = {
    f.__name__: f
    for f in (
        tb_conv_fwd_s8,
        tb_depthwise_fwd_s8,
        tb_pointwise_fwd_s8,
        tb_pwdw_fwd_s8,
        tb_add_fwd_s8,
        tb_channel_copy_fwd_s8,
        tb_avgpool_fwd_s8,
        tb_softmax_ce_bwd_s8,
        tb_conv_bwd_input_s8,
        tb_depthwise_bwd_input_s8,
        tb_pointwise_bwd_input_s8,
        tb_add_bwd_s8,
        tb_grad_sum_bwd_s8,
        tb_avgpool_bwd_s8,
        tb_conv_bwd_weight_s32,
        tb_depthwise_bwd_weight_s32,
        tb_pointwise_bwd_weight_s32,
        tb_sgd_update_s8,
        tb_sgd_update_s32,
        tb_conv_bwd_weight_sgd_s8,
        tb_depthwise_bwd_weight_sgd_s8,
        tb_pointwise_bwd_weight_sgd_s8,
    )
}

__all__ = sorted(KERNELS) + ["KERNELS"]
