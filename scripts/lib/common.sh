# Shared by the scripts: Debian packages the build needs, installed when missing (as root), and
# the CUDA toolkit put on PATH when it is installed in its usual place.

RLMOE_DEBIAN_PACKAGES=(cmake ninja-build g++ libeigen3-dev zlib1g-dev libboost-test-dev libsentencepiece-dev python3 python3-venv
                       openmpi-bin libopenmpi-dev)

rlmoe_ensure_packages() {
  local missing=()
  for package in "${RLMOE_DEBIAN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "rlmoe needs these Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

rlmoe_find_cuda() {
  if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
    export PATH="/usr/local/cuda/bin:$PATH"
  fi
  if command -v nvcc >/dev/null 2>&1; then
    echo "CUDA: $(nvcc --version | tail -n 2 | head -n 1)"
  else
    echo "CUDA: no nvcc found; building the Host backend only"
  fi
}

rlmoe_jobs() { nproc 2>/dev/null || echo 2; }

# A virtual environment in $1 with numpy, safetensors, ml_dtypes (bfloat16), tokenizers and sentencepiece, for the Python cross-checks; prints its
# interpreter. A virtual environment, because Debian 12 refuses pip installs into its own Python
# (externally managed). Failures are reported, not hidden: without it the cross-checks are skipped
# (and fail under CI=true).
rlmoe_python_venv() {
  local venv
  venv="$(realpath -m "$1")"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import numpy, safetensors, ml_dtypes, tokenizers, sentencepiece" 2>/dev/null; then
    echo "setting up $venv (numpy, safetensors, ml_dtypes, tokenizers, sentencepiece) for the Python cross-checks" >&2
    python3 -m venv "$venv" >&2 && "$venv/bin/python" -m pip install -q --disable-pip-version-check numpy safetensors ml_dtypes tokenizers sentencepiece >&2 ||
      { echo "could not set up $venv: the Python cross-checks will be skipped (failed under CI=true)" >&2; return 1; }
  fi
  echo "$venv/bin/python"
}
