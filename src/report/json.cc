#include "heapwalk/report/json.h"

namespace heapwalk::report {

std::string to_text(const Json& json) {
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace heapwalk::report
