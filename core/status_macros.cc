#include "core/status_macros.h"
