# Shared by the scripts: Debian packages the build needs, installed when missing (as root), and
# the CUDA toolkit put on PATH when it is installed in its usual place.

RLMOE_DEBIAN_PACKAGES=(cmake ninja-build g++ libeigen3-dev zlib1g-dev libboost-test-dev)

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
