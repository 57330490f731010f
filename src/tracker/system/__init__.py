"""System metrics: a sampler thread per run that records what the hardware is doing.

Sources: `host` (psutil: CPU, memory, disk, network), `gpu` (NVML, imported only when
sampling starts), `torch_memory` (torch's allocator, only when torch and CUDA are
already in use). `efficiency` derives tokens per second and MFU from what the framework
logs. `attach` wires all of it to a run. Names are documented in docs/system-metrics.md.
"""
