"""Cases of the ONNX backend suite that graphc does not pass although all their ops are in its
registry, each with the reason. ``tests/onnx/test_backend.py`` skips exactly these (reason shown);
any other case whose ops graphc has must pass, and a listed case that names no suite case is an
error. Keys are the suite's case names without the ``_cpu`` device suffix.
"""

_REASONS: dict[str, list[str]] = {
    "Resize mode 'cubic': graphc implements nearest and linear": [
        'test_resize_downsample_scales_cubic', 'test_resize_downsample_scales_cubic_A_n0p5_exclude_outside',
        'test_resize_downsample_scales_cubic_align_corners', 'test_resize_downsample_sizes_cubic',
        'test_resize_upsample_scales_cubic', 'test_resize_upsample_scales_cubic_A_n0p5_exclude_outside',
        'test_resize_upsample_scales_cubic_align_corners', 'test_resize_upsample_scales_cubic_asymmetric',
        'test_resize_upsample_sizes_cubic',
    ],
    "Resize antialias=1 (antialiased downsampling): graphc raises naming the attribute": [
        'test_resize_downsample_scales_cubic_antialias', 'test_resize_downsample_scales_linear_antialias',
        'test_resize_downsample_sizes_cubic_antialias', 'test_resize_downsample_sizes_linear_antialias',
    ],
    "Resize coordinate_transformation_mode 'tf_crop_and_resize' (roi): graphc raises naming the attribute": [
        'test_resize_tf_crop_and_resize', 'test_resize_tf_crop_and_resize_axes_2_3',
        'test_resize_tf_crop_and_resize_axes_3_2', 'test_resize_tf_crop_and_resize_extrapolation_value',
    ],
    "Resize keep_aspect_ratio_policy not_larger/not_smaller: graphc supports stretch": [
        'test_resize_downsample_sizes_nearest_not_larger', 'test_resize_downsample_sizes_nearest_not_smaller',
        'test_resize_upsample_sizes_nearest_not_larger', 'test_resize_upsample_sizes_nearest_not_smaller',
    ],
    ("Resize align_corners with a fractional scaled length (0.6 * 4 = 2.4): onnx.reference maps with the "
     "fractional length, onnxruntime (and PyTorch) with the integer output length, which graphc follows"): [
        'test_resize_downsample_scales_linear_align_corners',
    ],
    "AveragePool's dilations attribute is opset 19; graphc's AveragePool is opset 18's": [
        'test_averagepool_2d_dilations',
        'test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False',
        'test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True',
        'test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False',
        'test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True',
        'test_averagepool_3d_dilations_small',
    ],
    'Cast to a float8 type (saturate attribute, opset 19): graphc has no float8 dtype': [
        'test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FN', 'test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ',
        'test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2', 'test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ',
        'test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FN', 'test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ',
        'test_cast_no_saturate_FLOAT_to_FLOAT8E5M2', 'test_cast_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FN',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ_expanded',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FN_expanded',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ_expanded',
        'test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2_expanded',
        'test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FN',
        'test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ',
        'test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ_expanded',
        'test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FN_expanded',
        'test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2', 'test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ',
        'test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ_expanded',
        'test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2_expanded',
    ],
    'Dropout with training_mode=True draws a random mask; graphc imports Dropout in inference form': [
        'test_training_dropout', 'test_training_dropout_default', 'test_training_dropout_default_mask',
        'test_training_dropout_mask', 'test_training_dropout_zero_ratio',
        'test_training_dropout_zero_ratio_mask',
    ],
    "MaxPool's Indices output is not implemented": [
        'test_maxpool_with_argmax_2d_precomputed_pads', 'test_maxpool_with_argmax_2d_precomputed_strides',
    ],
    "Pad mode 'wrap' is opset 19; graphc's Pad is opset 18's (constant, edge, reflect)": [
        'test_wrap_pad',
    ],
    "Pow on int32: graphc's Pow kernel is float-only": [
        'test_pow_types_int32_int32',
    ],
    "Pow on int64: graphc's Pow kernel is float-only": [
        'test_pow_types_int64_int64',
    ],
    "Pow with an exponent of another dtype than the base: graphc's Pow needs one dtype": [
        'test_pow_types_float32_int32', 'test_pow_types_float32_int64', 'test_pow_types_int32_float32',
        'test_pow_types_int64_float32',
    ],
    "ReduceMax on bool: graphc's ReduceMax kernel is float-only": [
        'test_reduce_max_bool_inputs', 'test_reduce_max_empty_set_bool',
    ],
    "ReduceMin on bool: graphc's ReduceMin kernel is float-only": [
        'test_reduce_min_bool_inputs',
    ],
    'a sequence/optional-typed input (graphc values are tensors)': [
        'test_identity_opt', 'test_identity_sequence',
    ],
    'element type BFLOAT16: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_range_bfloat16_type_positive_delta_expanded',
        'test_cast_BFLOAT16_to_FLOAT', 'test_cast_FLOAT_to_BFLOAT16', 'test_castlike_BFLOAT16_to_FLOAT',
        'test_castlike_BFLOAT16_to_FLOAT_expanded', 'test_castlike_FLOAT_to_BFLOAT16',
        'test_castlike_FLOAT_to_BFLOAT16_expanded', 'test_celu_bfloat16_expanded',
    ],
    'element type FLOAT16: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_range_float16_type_positive_delta_expanded',
        'test_cast_DOUBLE_to_FLOAT16', 'test_cast_FLOAT16_to_DOUBLE', 'test_cast_FLOAT16_to_FLOAT',
        'test_cast_FLOAT16_to_FLOAT4E2M1', 'test_cast_FLOAT16_to_FLOAT8E4M3FN',
        'test_cast_FLOAT16_to_FLOAT8E4M3FNUZ', 'test_cast_FLOAT16_to_FLOAT8E5M2',
        'test_cast_FLOAT16_to_FLOAT8E5M2FNUZ', 'test_cast_FLOAT16_to_INT2', 'test_cast_FLOAT16_to_INT4',
        'test_cast_FLOAT16_to_UINT2', 'test_cast_FLOAT16_to_UINT4', 'test_cast_FLOAT_to_FLOAT16',
        'test_cast_e8m0_FLOAT16_to_FLOAT8E8M0', 'test_castlike_DOUBLE_to_FLOAT16',
        'test_castlike_DOUBLE_to_FLOAT16_expanded', 'test_castlike_FLOAT16_to_DOUBLE',
        'test_castlike_FLOAT16_to_DOUBLE_expanded', 'test_castlike_FLOAT16_to_FLOAT',
        'test_castlike_FLOAT16_to_FLOAT4E2M1', 'test_castlike_FLOAT16_to_FLOAT4E2M1_expanded',
        'test_castlike_FLOAT16_to_FLOAT8E4M3FN', 'test_castlike_FLOAT16_to_FLOAT8E4M3FNUZ',
        'test_castlike_FLOAT16_to_FLOAT8E4M3FNUZ_expanded', 'test_castlike_FLOAT16_to_FLOAT8E4M3FN_expanded',
        'test_castlike_FLOAT16_to_FLOAT8E5M2', 'test_castlike_FLOAT16_to_FLOAT8E5M2FNUZ',
        'test_castlike_FLOAT16_to_FLOAT8E5M2FNUZ_expanded', 'test_castlike_FLOAT16_to_FLOAT8E5M2_expanded',
        'test_castlike_FLOAT16_to_FLOAT_expanded', 'test_castlike_FLOAT16_to_INT2',
        'test_castlike_FLOAT16_to_INT2_expanded', 'test_castlike_FLOAT16_to_INT4',
        'test_castlike_FLOAT16_to_INT4_expanded', 'test_castlike_FLOAT16_to_UINT2',
        'test_castlike_FLOAT16_to_UINT2_expanded', 'test_castlike_FLOAT16_to_UINT4',
        'test_castlike_FLOAT16_to_UINT4_expanded', 'test_castlike_FLOAT_to_FLOAT16',
        'test_castlike_FLOAT_to_FLOAT16_expanded', 'test_causal_conv_with_state_fp16_expanded',
        'test_causal_conv_with_state_silu_fp16_expanded', 'test_celu_float16_expanded',
        'test_flexattention_fp16_expanded_ver26', 'test_max_float16', 'test_min_float16',
    ],
    'element type FLOAT4E2M1: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT4E2M1_to_FLOAT', 'test_cast_FLOAT4E2M1_to_FLOAT16', 'test_cast_FLOAT_to_FLOAT4E2M1',
        'test_castlike_FLOAT4E2M1_to_FLOAT', 'test_castlike_FLOAT4E2M1_to_FLOAT16',
        'test_castlike_FLOAT4E2M1_to_FLOAT16_expanded', 'test_castlike_FLOAT4E2M1_to_FLOAT_expanded',
        'test_castlike_FLOAT_to_FLOAT4E2M1', 'test_castlike_FLOAT_to_FLOAT4E2M1_expanded',
    ],
    'element type FLOAT8E4M3FN: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT8E4M3FN_to_FLOAT', 'test_cast_FLOAT8E4M3FN_to_FLOAT16',
        'test_cast_FLOAT_to_FLOAT8E4M3FN', 'test_castlike_FLOAT8E4M3FN_to_FLOAT',
        'test_castlike_FLOAT8E4M3FN_to_FLOAT16', 'test_castlike_FLOAT8E4M3FN_to_FLOAT16_expanded',
        'test_castlike_FLOAT8E4M3FN_to_FLOAT_expanded', 'test_castlike_FLOAT_to_FLOAT8E4M3FN',
        'test_castlike_FLOAT_to_FLOAT8E4M3FN_expanded',
    ],
    'element type FLOAT8E4M3FNUZ: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT8E4M3FNUZ_to_FLOAT', 'test_cast_FLOAT8E4M3FNUZ_to_FLOAT16',
        'test_cast_FLOAT_to_FLOAT8E4M3FNUZ', 'test_castlike_FLOAT8E4M3FNUZ_to_FLOAT',
        'test_castlike_FLOAT8E4M3FNUZ_to_FLOAT16', 'test_castlike_FLOAT8E4M3FNUZ_to_FLOAT16_expanded',
        'test_castlike_FLOAT8E4M3FNUZ_to_FLOAT_expanded', 'test_castlike_FLOAT_to_FLOAT8E4M3FNUZ',
        'test_castlike_FLOAT_to_FLOAT8E4M3FNUZ_expanded',
    ],
    'element type FLOAT8E5M2: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT8E5M2_to_FLOAT', 'test_cast_FLOAT8E5M2_to_FLOAT16', 'test_cast_FLOAT_to_FLOAT8E5M2',
        'test_castlike_FLOAT8E5M2_to_FLOAT', 'test_castlike_FLOAT8E5M2_to_FLOAT16',
        'test_castlike_FLOAT8E5M2_to_FLOAT16_expanded', 'test_castlike_FLOAT8E5M2_to_FLOAT_expanded',
        'test_castlike_FLOAT_to_FLOAT8E5M2', 'test_castlike_FLOAT_to_FLOAT8E5M2_expanded',
    ],
    'element type FLOAT8E5M2FNUZ: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT8E5M2FNUZ_to_FLOAT', 'test_cast_FLOAT8E5M2FNUZ_to_FLOAT16',
        'test_cast_FLOAT_to_FLOAT8E5M2FNUZ', 'test_castlike_FLOAT8E5M2FNUZ_to_FLOAT',
        'test_castlike_FLOAT8E5M2FNUZ_to_FLOAT16', 'test_castlike_FLOAT8E5M2FNUZ_to_FLOAT16_expanded',
        'test_castlike_FLOAT8E5M2FNUZ_to_FLOAT_expanded', 'test_castlike_FLOAT_to_FLOAT8E5M2FNUZ',
        'test_castlike_FLOAT_to_FLOAT8E5M2FNUZ_expanded',
    ],
    'element type FLOAT8E8M0: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_e8m0_FLOAT8E8M0_to_FLOAT', 'test_cast_e8m0_FLOAT8E8M0_to_FLOAT16',
        'test_cast_e8m0_FLOAT_to_FLOAT8E8M0',
    ],
    'element type INT16: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_add_int16', 'test_div_int16', 'test_equal_int16', 'test_greater_equal_int16',
        'test_greater_equal_int16_expanded', 'test_greater_int16', 'test_less_equal_int16',
        'test_less_equal_int16_expanded', 'test_less_int16', 'test_max_int16', 'test_min_int16', 'test_mul_int16',
        'test_sub_int16',
    ],
    'element type INT2: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT_to_INT2', 'test_cast_INT2_to_FLOAT', 'test_cast_INT2_to_FLOAT16',
        'test_cast_INT2_to_INT8', 'test_castlike_FLOAT_to_INT2', 'test_castlike_FLOAT_to_INT2_expanded',
        'test_castlike_INT2_to_FLOAT', 'test_castlike_INT2_to_FLOAT16',
        'test_castlike_INT2_to_FLOAT16_expanded', 'test_castlike_INT2_to_FLOAT_expanded',
        'test_castlike_INT2_to_INT8', 'test_castlike_INT2_to_INT8_expanded',
    ],
    'element type INT4: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT_to_INT4', 'test_cast_INT4_to_FLOAT', 'test_cast_INT4_to_FLOAT16',
        'test_cast_INT4_to_INT8', 'test_castlike_FLOAT_to_INT4', 'test_castlike_FLOAT_to_INT4_expanded',
        'test_castlike_INT4_to_FLOAT', 'test_castlike_INT4_to_FLOAT16',
        'test_castlike_INT4_to_FLOAT16_expanded', 'test_castlike_INT4_to_FLOAT_expanded',
        'test_castlike_INT4_to_INT8', 'test_castlike_INT4_to_INT8_expanded',
    ],
    'element type INT8: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_add_int8', 'test_clip_default_int8_inbounds', 'test_clip_default_int8_inbounds_expanded',
        'test_clip_default_int8_max_expanded', 'test_clip_default_int8_min_expanded',
        'test_clip_default_int8_max', 'test_clip_default_int8_min', 'test_div_int8', 'test_equal_int8',
        'test_greater_equal_int8', 'test_greater_equal_int8_expanded', 'test_greater_int8', 'test_less_equal_int8',
        'test_less_equal_int8_expanded', 'test_less_int8', 'test_max_int8', 'test_min_int8', 'test_mul_int8',
        'test_sub_int8',
    ],
    'element type UINT16: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_add_uint16', 'test_div_uint16', 'test_equal_uint16', 'test_greater_equal_uint16',
        'test_greater_equal_uint16_expanded', 'test_greater_uint16', 'test_less_equal_uint16',
        'test_less_equal_uint16_expanded', 'test_less_uint16', 'test_max_uint16', 'test_min_uint16',
        'test_mul_uint16', 'test_sub_uint16',
    ],
    'element type UINT2: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT_to_UINT2', 'test_cast_UINT2_to_FLOAT', 'test_cast_UINT2_to_FLOAT16',
        'test_cast_UINT2_to_UINT8', 'test_castlike_FLOAT_to_UINT2', 'test_castlike_FLOAT_to_UINT2_expanded',
        'test_castlike_UINT2_to_FLOAT', 'test_castlike_UINT2_to_FLOAT16',
        'test_castlike_UINT2_to_FLOAT16_expanded', 'test_castlike_UINT2_to_FLOAT_expanded',
        'test_castlike_UINT2_to_UINT8', 'test_castlike_UINT2_to_UINT8_expanded',
    ],
    'element type UINT32: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_add_uint32', 'test_div_uint32', 'test_equal_uint32', 'test_greater_equal_uint32',
        'test_greater_equal_uint32_expanded', 'test_greater_uint32', 'test_less_equal_uint32',
        'test_less_equal_uint32_expanded', 'test_less_uint32', 'test_max_uint32', 'test_min_uint32',
        'test_mul_uint32', 'test_pow_types_float32_uint32', 'test_sub_uint32',
    ],
    'element type UINT4: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_cast_FLOAT_to_UINT4', 'test_cast_UINT4_to_FLOAT', 'test_cast_UINT4_to_FLOAT16',
        'test_cast_UINT4_to_UINT8', 'test_castlike_FLOAT_to_UINT4', 'test_castlike_FLOAT_to_UINT4_expanded',
        'test_castlike_UINT4_to_FLOAT', 'test_castlike_UINT4_to_FLOAT16',
        'test_castlike_UINT4_to_FLOAT16_expanded', 'test_castlike_UINT4_to_FLOAT_expanded',
        'test_castlike_UINT4_to_UINT8', 'test_castlike_UINT4_to_UINT8_expanded',
    ],
    'element type UINT64: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_add_uint64', 'test_div_uint64', 'test_equal_uint64', 'test_greater_equal_uint64',
        'test_greater_equal_uint64_expanded', 'test_greater_uint64', 'test_less_equal_uint64',
        'test_less_equal_uint64_expanded', 'test_less_uint64', 'test_max_uint64', 'test_min_uint64',
        'test_mul_uint64', 'test_pow_types_float32_uint64', 'test_sub_uint64',
    ],
    'element type UINT8: graphc compiles float32, float64, int64, int32 and bool only': [
        'test_add_uint8', 'test_div_uint8', 'test_equal_uint8', 'test_greater_equal_uint8',
        'test_greater_equal_uint8_expanded', 'test_greater_uint8', 'test_less_equal_uint8',
        'test_less_equal_uint8_expanded', 'test_less_uint8', 'test_max_uint8', 'test_maxpool_2d_uint8',
        'test_min_uint8', 'test_mul_uint8', 'test_sub_uint8',
    ],
    'element type STRING: graphc has no string tensors': [
        'test_equal_string', 'test_equal_string_broadcast',
    ],
    ('opset-6 PRelu with a per-channel (C,) slope: opset 7+ broadcasting (what graphc '
     "implements) does not apply it per channel, and onnx's version converter leaves the "
     'model as is'): [
        'test_PReLU_1d_multiparam', 'test_PReLU_2d_multiparam', 'test_PReLU_3d_multiparam',
    ],
}

EXCLUDED: dict[str, str] = {case: reason for reason, cases in _REASONS.items() for case in cases}
