#include "cmd/after_stop.h"

#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "cmd/backing_mount.h"
#include "cmd/control.h"
#include "cmd/mount_record.h"
#include "cmd/stale_mount.h"

namespace confinefs::cmd {
namespace {

using Bus = std::unique_ptr<sd_bus, decltype(&sd_bus_flush_close_unref)>;

// systemd's own socket first (root, no D-Bus daemon needed), then the system bus.
Bus connect_systemd() {
  sd_bus* bus = nullptr;
  if (sd_bus_new(&bus) >= 0 && sd_bus_set_address(bus, "unix:path=/run/systemd/private") >= 0 &&
      sd_bus_start(bus) >= 0) {
    return Bus(bus, sd_bus_flush_close_unref);
  }
  sd_bus_flush_close_unref(bus);
  bus = nullptr;
  if (sd_bus_open_system(&bus) >= 0) return Bus(bus, sd_bus_flush_close_unref);
  return Bus(nullptr, sd_bus_flush_close_unref);
}

// The type of the job queued for unit ("" when none, or systemd cannot be asked).
std::string queued_job(const std::string& unit) {
  Bus bus = connect_systemd();
  if (!bus) return {};
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  std::string type;
  const char* unit_path = nullptr;
  uint32_t job_id = 0;
  const char* job_path = nullptr;
  char* job_type = nullptr;
  if (sd_bus_call_method(bus.get(), "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                         "org.freedesktop.systemd1.Manager", "GetUnit", &error, &reply, "s",
                         unit.c_str()) >= 0 &&
      sd_bus_message_read(reply, "o", &unit_path) >= 0) {
    std::string path = unit_path;
    sd_bus_message_unref(reply);
    reply = nullptr;
    if (sd_bus_get_property(bus.get(), "org.freedesktop.systemd1", path.c_str(),
                            "org.freedesktop.systemd1.Unit", "Job", &error, &reply, "(uo)") >= 0 &&
        sd_bus_message_read(reply, "(uo)", &job_id, &job_path) >= 0 && job_id != 0 &&
        sd_bus_get_property_string(bus.get(), "org.freedesktop.systemd1", job_path,
                                   "org.freedesktop.systemd1.Job", "JobType", &error,
                                   &job_type) >= 0) {
      type = job_type;
      std::free(job_type);
    }
  }
  sd_bus_message_unref(reply);
  sd_bus_error_free(&error);
  return type;
}

// Whether systemd starts unit again after this stop.
bool starting_again(const std::string& unit, std::string& why) {
  const char* result = std::getenv("SERVICE_RESULT");
  if (result != nullptr && std::string_view(result) != "success") {
    why = std::string("the daemon ended with ") + result + ", Restart= starts the next";
    return true;
  }
  std::string job = queued_job(unit);
  if (job == "start" || job == "restart" || job == "try-restart" || job == "reload-or-start" ||
      job == "verify-active") {
    why = "a " + job + " job is queued";
    return true;
  }
  return false;
}

}  // namespace

int unmount_after_stop_command(const std::string& mountpoint, const std::string& unit) {
  auto place = place_of(mountpoint);
  if (!place) return report(place.error());
  std::string why;
  if (starting_again(unit, why)) {
    std::printf("%s: mount kept for the next daemon (%s)\n", place->canonical().c_str(),
                why.c_str());
    return 0;
  }
  // Only the mount the daemon recorded when it mounted (cmd/mount_record.h), never whatever
  // is at the place now.
  std::optional<MountRecord> ours = recorded_mount(place->canonical());
  if (!ours) {
    std::printf("%s: no mount recorded by a confinefs daemon there; nothing unmounted\n",
                place->canonical().c_str());
    return 0;
  }
  if (auto ok = unmount_if(*place, ours->mount); !ok) {
    if (ok.code() != ENOENT) {
      std::fprintf(stderr, "confinefs: cannot unmount %s: %s\n", place->canonical().c_str(),
                   std::strerror(ok.code()));
      return 1;
    }
    std::printf("%s: the recorded mount is not there (any more); nothing unmounted\n",
                place->canonical().c_str());
  } else {
    std::printf("unmounted %s\n", place->canonical().c_str());
  }
  if (std::string bind = release_bind(*ours); !bind.empty()) std::printf("%s\n", bind.c_str());
  forget_mount(place->canonical());
  ::unlink(control_socket_path(place->canonical()).c_str());
  return 0;
}

}  // namespace confinefs::cmd
