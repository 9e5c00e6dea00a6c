#include "fusefs/fuse/libfuse314/reply_patch.h"

namespace confinefs::fuse {
namespace {

thread_local int32_t t_reply_backing = 0;

}  // namespace

PassthroughReply::PassthroughReply(int32_t backing_id) noexcept { t_reply_backing = backing_id; }
PassthroughReply::~PassthroughReply() { t_reply_backing = 0; }
int32_t PassthroughReply::current() noexcept { return t_reply_backing; }

}  // namespace confinefs::fuse
