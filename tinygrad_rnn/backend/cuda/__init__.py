"""What serves CuPy arrays beyond CuPy itself: fused elementwise kernels (`fused`), cuBLAS called
directly (`cublas`) and CUDA graph capture (`graphs`). Imported only once a CuPy array is seen."""
