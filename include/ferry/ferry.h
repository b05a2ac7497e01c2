// Umbrella header for Ferry's C++ API.
#pragma once
#include "ferry/dtype.h"
#include "ferry/error.h"
#include "ferry/session.h"
#include "ferry/tensor.h"
#include "ferry/value.h"
