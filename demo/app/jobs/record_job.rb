# The one sidekiq job: proves the round trip puma -> redis -> sidekiq -> mysql by writing a row.
require "sidekiq"

class RecordJob
  include Sidekiq::Worker
  sidekiq_options retry: 3

  def perform(note, enqueued_at)
    Demo::DB.record!(
      jid: jid,
      note: note,
      enqueued_at: Time.at(enqueued_at.to_f).utc.strftime("%F %T.%L"),
      processed_by: Socket.gethostname
    )
    logger.info("recorded job #{jid} (#{note.inspect})")
  end
end
