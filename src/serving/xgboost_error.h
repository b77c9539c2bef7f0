#pragma once

// XGBoostLastError: the reason of libxgboost's last failed call on this thread, without
// the time, source location and stack trace libxgboost puts around it, for error
// messages ("libxgboost: saving the model: <reason>").
//
// Thread-safety: libxgboost keeps its last error per thread; call it on the thread whose
// call failed, before that thread's next libxgboost call.

#include <string>

namespace ferry::serving {

std::string XGBoostLastError();

}  // namespace ferry::serving
