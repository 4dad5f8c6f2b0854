namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// What the emulator can talk about: a few everyday topics, each recognised by some words of the question and
/// written from its own sentences, and a general answer for anything else. Every topic has enough sentences for
/// a reply of <see cref="ReplyComposer.MinTokens"/> or more, and variants enough that sampling shows.
/// </summary>
public sealed record ReplyTopic(
    string Name,
    string[] Words,
    string[] Openings,
    string[] Facts,
    string[] ListIntros,
    string[] Points,
    string[] Closings,
    (string Language, string Body)[] Code)
{
    /// <summary>The topic of a question: the one most of its words belong to, else <see cref="General"/>.</summary>
    public static ReplyTopic Of(IEnumerable<string> words)
    {
        var best = General;
        var bestScore = 0;
        var list = words.ToList();
        foreach (var topic in All)
        {
            var score = list.Count(word => topic.Words.Contains(word) || (word.EndsWith('s') && topic.Words.Contains(word[..^1])));
            if (score > bestScore)
            {
                (best, bestScore) = (topic, score);
            }
        }

        return best;
    }

    public static readonly ReplyTopic Sea = new(
        "the sea",
        ["sea", "ocean", "wave", "tide", "beach", "coast", "coral", "reef", "whale", "fish", "marine", "seaside", "shore", "harbour", "harbor", "sail", "sailing"],
        [
            "The sea covers about 71% of the planet's surface and holds nearly all of its water.",
            "The ocean is one connected body of salt water, split by habit into five oceans and many seas.",
            "The sea shapes the weather, the coastlines and a great deal of life on Earth.",
        ],
        [
            "Its average depth is around 3,700 metres, and the deepest point, the Challenger Deep, is nearly 11,000 metres down.",
            "Tides come from the pull of the Moon and, to a lesser degree, the Sun, so most coasts see two high tides a day.",
            "Sea water is salty because rivers carry dissolved minerals into it, and evaporation leaves the salt behind.",
            "The ocean absorbs a large share of the heat and carbon dioxide we add to the air, which slows warming on land but makes the water more acidic.",
            "Phytoplankton near the surface produce roughly half of the oxygen we breathe.",
            "Waves are mostly made by wind: the longer and stronger it blows over open water, the bigger they grow.",
        ],
        ["A few things worth knowing:", "Some highlights:", "If you visit the coast:"],
        [
            "**Coral reefs** cover a tiny fraction of the sea floor but shelter about a quarter of marine species.",
            "**The deep sea** is mostly dark and cold, and most of it has never been seen by people.",
            "**Currents** such as the Gulf Stream carry warm water far north and keep Western Europe mild.",
            "**Rip currents** pull away from the shore: swim parallel to the beach to get out of one.",
            "**Whales** 🐋 talk to each other over hundreds of kilometres with low-frequency songs.",
            "**Plastic** breaks into small pieces rather than disappearing, so it builds up in the water.",
        ],
        [
            "In short, the sea is vast, mostly unexplored and closely tied to the climate we live in.",
            "If you want, I can go deeper into tides, marine life or ocean currents.",
            "It is well worth a slow walk along the shore to see some of this for yourself.",
        ],
        []);

    public static readonly ReplyTopic Space = new(
        "space",
        ["space", "star", "planet", "moon", "sun", "mars", "jupiter", "saturn", "galaxy", "universe", "astronaut", "rocket", "orbit", "nasa", "telescope", "comet", "asteroid", "cosmos"],
        [
            "Space is far bigger and emptier than everyday intuition suggests.",
            "Our Sun is one ordinary star among a few hundred billion in the Milky Way.",
            "The universe is about 13.8 billion years old and still expanding.",
        ],
        [
            "Light from the Sun takes a little over eight minutes to reach Earth, and about four years to reach the nearest other star.",
            "The Moon is slowly drifting away from Earth, by about 3.8 centimetres a year.",
            "Jupiter is so large that more than a thousand Earths would fit inside it.",
            "A day on Venus is longer than its year, because the planet turns so slowly.",
            "Astronauts on the International Space Station orbit Earth about every 90 minutes, so they see sixteen sunrises a day.",
            "Most of the universe seems to be dark matter and dark energy, which we cannot see directly.",
        ],
        ["A few things worth knowing:", "Some highlights:", "To see it for yourself:"],
        [
            "**Find a dark sky**: away from city lights, the Milky Way is visible to the naked eye.",
            "**Binoculars** are enough to see Jupiter's four largest moons.",
            "**Satellites** look like steady moving dots, while planes blink.",
            "**Meteor showers** such as the Perseids in August are best after midnight.",
            "**Rockets** 🚀 reach orbit by going sideways very fast, about 7.8 kilometres a second, not just up.",
            "**Telescopes** in space avoid the blur of the atmosphere.",
        ],
        [
            "In short, space is huge, old and still full of open questions.",
            "If you like, I can say more about a planet, a mission or how stars are born.",
            "A clear night and a little patience are all it takes to start exploring.",
        ],
        []);

    public static readonly ReplyTopic Cooking = new(
        "cooking",
        ["cook", "cooking", "recipe", "bake", "baking", "bread", "pasta", "soup", "kitchen", "dinner", "lunch", "breakfast", "meal", "food", "egg", "oven", "sauce", "rice", "vegetable", "cake"],
        [
            "Good cooking rests on a few habits more than on any single recipe.",
            "Most home cooking gets better with three things: heat control, seasoning and timing.",
            "A simple dish done carefully usually beats a complicated one done in a hurry.",
        ],
        [
            "Read the whole recipe first and set out everything you need, so nothing burns while you search for an ingredient.",
            "Salt in small steps and taste as you go: it is easy to add more and hard to take it away.",
            "A hot pan and dry ingredients give browning and flavour; a crowded pan steams instead of searing.",
            "Let meat rest for a few minutes after cooking so the juices settle instead of running onto the board.",
            "Acid, such as a squeeze of lemon or a dash of vinegar, often lifts a dish that tastes flat.",
            "Baking is closer to chemistry than stovetop cooking, so weigh the ingredients when you can.",
        ],
        ["A few tips that help:", "Things to keep in mind:", "A simple plan:"],
        [
            "**Sharp knife**: it is safer than a dull one, because it does not slip.",
            "**Mise en place**: chop and measure before the heat goes on.",
            "**Taste often**: adjust salt, acid and heat at the end.",
            "**Rest the dough**: bread and pastry are easier to shape after a pause.",
            "**Keep a few staples** 🍝: pasta, rice, tinned tomatoes, onions and garlic make a meal in minutes.",
            "**Clean as you go**: a clear counter makes the last steps calmer.",
        ],
        [
            "In short, prepare first, season carefully and taste along the way.",
            "If you tell me what you have in the fridge, I can suggest a dish.",
            "Start with one dish you enjoy and cook it a few times until it feels easy.",
        ],
        []);

    public static readonly ReplyTopic Programming = new(
        "programming",
        [
            "code", "coding", "program", "programming", "programmer", "developer", "software", "c#", "csharp", "net", "dotnet", "asp", "aspire",
            "api", "http", "bug", "debug", "error", "exception", "function", "method", "class", "compile", "compiler", "javascript", "typescript",
            "python", "java", "rust", "sql", "database", "server", "stream", "streaming", "browser", "async", "await", "git", "docker",
            "kubernetes", "deploy", "deployment", "cache", "test", "testing", "algorithm", "vue", "react", "node", "json", "linq", "thread",
            "mutex", "semaphore", "postgresql", "sqlite", "app", "websocket", "opentelemetry", "vite", "library", "framework", "regex", "variable",
            "neural", "model", "list", "array",
        ],
        [
            "Here is a practical way to approach it in code.",
            "The usual approach is to start small, make it work end to end, then improve it.",
            "This comes up often, and the answer is mostly about structure rather than clever tricks.",
        ],
        [
            "Keep the part that talks to the network separate from the part that decides what to do, so each can be tested on its own.",
            "Treat every network call as something that can be slow, fail, or succeed twice, and plan the retries with that in mind.",
            "Write a test for the behaviour a user would notice first; it pays for itself the first time something regresses.",
            "When performance matters, measure before you optimise, because intuition is a poor guide to where the time goes.",
            "Prefer small functions with clear names over one clever routine; they are easier to test and to replace.",
            "Log the decisions your code makes, not just the errors, so the next person can follow what happened.",
        ],
        ["A few points to keep in mind:", "What to check first:", "Things that usually help:"],
        [
            "**Start small**: get one end-to-end path working before adding options.",
            "**Make failures visible**: return clear errors and record them with enough context.",
            "**Automate the checks**: a short test suite beats a long checklist.",
            "**Mind the limits**: timeouts, quotas and payload sizes shape the design.",
            "**Keep it observable**: traces and metrics turn guesses into answers.",
            "**Ship small** 🚀: release the simple version, then improve it with real feedback.",
        ],
        [
            "In short: keep it simple, observable and tested, and it will stay easy to change.",
            "If you share the code you have, I can be more specific.",
            "Start with the first point above and revisit the rest once the basics work.",
        ],
        [
            ("csharp", """
                using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
                var response = await client.GetAsync("https://example.com/api/items", cancellationToken);
                response.EnsureSuccessStatusCode();
                Console.WriteLine(await response.Content.ReadAsStringAsync(cancellationToken));
                """),
            ("ts", """
                export async function withRetry<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
                  for (let i = 1; ; i++) {
                    try { return await run() } catch (e) { if (i >= attempts) throw e }
                  }
                }
                """),
            ("python", """
                def chunked(items, size):
                    for start in range(0, len(items), size):
                        yield items[start:start + size]
                """),
            ("bash", """
                curl -s http://localhost:5090/v1/models \
                  -H "Authorization: Bearer $API_KEY" | jq '.data[].id'
                """),
        ]);

    public static readonly ReplyTopic History = new(
        "history",
        ["history", "historical", "ancient", "century", "empire", "war", "king", "queen", "rome", "roman", "egypt", "medieval", "revolution", "civilization", "civilisation", "dynasty", "pharaoh", "historian"],
        [
            "History is easier to follow as a chain of causes than as a list of dates.",
            "Most of what we know about the distant past comes from a surprisingly small set of sources.",
            "Looking at history is mostly about asking who wrote the record, and why.",
        ],
        [
            "Writing appeared in Mesopotamia around 3200 BCE, first to keep track of goods and taxes.",
            "The Roman Empire lasted in the west until 476, and in the east, as Byzantium, until 1453.",
            "The printing press, from the 1450s, made books cheap and spread ideas faster than any ruler could control.",
            "The Industrial Revolution began in Britain in the late 1700s and changed how most people worked and lived.",
            "Historians compare several sources, because each one reflects the interests of the person who wrote it.",
            "Many turning points look inevitable only afterwards; at the time people saw several possible futures.",
        ],
        ["A few ways in:", "Some landmarks:", "Good habits when reading history:"],
        [
            "**Ask who wrote it**: a chronicle for a king tells the king's story.",
            "**Follow the money**: trade and taxes explain many wars.",
            "**Look at maps**: rivers, mountains and coasts shaped where cities grew.",
            "**Read a primary source**: a letter or diary brings a period to life.",
            "**Compare timelines** 📜: what happened at the same time elsewhere is often revealing.",
            "**Mind the dates**: calendars and place names changed over time.",
        ],
        [
            "In short, history is a conversation about evidence, and it keeps being revised.",
            "If you name a period or a place, I can give you a short overview.",
            "A good popular history book on one period is a fine place to start.",
        ],
        []);

    public static readonly ReplyTopic Music = new(
        "music",
        ["music", "song", "songs", "guitar", "piano", "sing", "singing", "band", "melody", "chord", "rhythm", "jazz", "classical", "concert", "composer", "symphony", "opera", "bach", "mozart", "beethoven", "instrument", "violin", "drum", "drums"],
        [
            "Music is built from a few simple pieces: rhythm, melody and harmony.",
            "Learning music goes faster with short daily practice than with long weekly sessions.",
            "Almost every song you know rests on a handful of chords and a steady beat.",
        ],
        [
            "A major scale has seven notes, and most Western melodies are drawn from one scale or another.",
            "Many pop songs use the same four chords, arranged differently, which is why they feel familiar.",
            "Tempo is measured in beats per minute; most dance music sits between 110 and 130.",
            "Playing slowly and accurately trains the hands better than playing fast and sloppily.",
            "Listening closely, for example picking out the bass line, improves your ear as much as practice does.",
            "Recording yourself is uncomfortable at first but shows what to work on next.",
        ],
        ["A few tips:", "To make progress:", "Things that help:"],
        [
            "**Use a metronome**: steady time matters more than speed.",
            "**Learn songs you love**: motivation carries you through the hard parts.",
            "**Practise in short bursts**: fifteen focused minutes beat an hour of noodling.",
            "**Play with others** 🎸: it teaches timing and listening quickly.",
            "**Learn a little theory**: knowing why chords fit helps you remember them.",
            "**Rest your hands**: stop when anything hurts.",
        ],
        [
            "In short, a steady beat, regular practice and curious listening go a long way.",
            "If you tell me your instrument and level, I can suggest what to practise next.",
            "Pick one song this week and learn it all the way through.",
        ],
        []);

    public static readonly ReplyTopic Sleep = new(
        "sleep and health",
        ["sleep", "sleeping", "insomnia", "tired", "nap", "rest", "health", "healthy", "exercise", "fitness", "diet", "stress", "wellbeing", "walk", "walking", "run", "running", "cold", "flu", "fever", "doctor", "medicine", "headache"],
        [
            "Sleep and everyday health depend mostly on regular habits rather than on special tricks.",
            "Most adults need seven to nine hours of sleep, and consistency matters as much as the total.",
            "Small daily habits add up to most of what keeps people healthy.",
        ],
        [
            "Going to bed and getting up at the same time every day, weekends included, sets your body clock.",
            "Daylight in the morning helps you feel awake and makes it easier to fall asleep at night.",
            "Caffeine stays in the body for hours, so a coffee in the afternoon can still disturb sleep.",
            "A cool, dark and quiet bedroom makes a noticeable difference for most people.",
            "Regular movement, even a brisk 30-minute walk, improves both mood and sleep.",
            "If poor sleep or tiredness lasts for weeks, it is worth talking to a doctor.",
        ],
        ["A few habits that help:", "Things to try:", "A simple routine:"],
        [
            "**Keep a schedule**: the same wake-up time every day.",
            "**Dim the lights** in the last hour before bed.",
            "**Put screens away**: read a book instead.",
            "**Move every day** 🚶: a walk counts.",
            "**Watch the caffeine**: none after early afternoon.",
            "**Get up if you cannot sleep**: return to bed when drowsy.",
        ],
        [
            "In short, regular hours, daylight and movement do most of the work.",
            "This is general advice, not medical advice; a doctor can help if problems persist.",
            "Try one change for two weeks and see how you feel.",
        ],
        []);

    public static readonly ReplyTopic Weather = new(
        "the weather",
        ["weather", "rain", "snow", "storm", "wind", "cloud", "clouds", "forecast", "temperature", "sunny", "climate", "thunder", "lightning", "fog", "hurricane", "heatwave", "humidity"],
        [
            "Weather is the atmosphere's short-term behaviour; climate is its long-term average.",
            "Most weather is driven by the Sun heating the Earth unevenly.",
            "A forecast is a probability, not a promise, and it is most reliable for the next few days.",
        ],
        [
            "Warm air rises, cools and can no longer hold as much water vapour, which is how clouds and rain form.",
            "Wind blows from high pressure towards low pressure, turned sideways by the Earth's rotation.",
            "A 70% chance of rain means that, on days like this one, rain fell in about seven out of ten cases.",
            "Thunderstorms form when warm, moist air rises quickly into much colder air above it.",
            "Forecasts today are about as good five days ahead as they were one day ahead in the 1980s.",
            "Coasts have milder weather than inland areas, because the sea warms and cools slowly.",
        ],
        ["A few practical tips:", "How to read a forecast:", "Worth remembering:"],
        [
            "**Check the hourly view**: it tells you when the rain starts.",
            "**Watch the wind**: it changes how cold it feels more than the thermometer does.",
            "**Dress in layers** 🌦️: they adapt to a changing day.",
            "**Mind the UV index**: you can burn on a cloudy day.",
            "**Take warnings seriously**: storms and heat waves are the dangerous ones.",
            "**Look west**: in many places, weather arrives from that direction.",
        ],
        [
            "In short, look at the forecast's chances, not just its icons, and dress for change.",
            "If you tell me where you are, I can explain what usually drives the weather there.",
            "An umbrella and a spare layer cover most surprises.",
        ],
        []);

    public static readonly ReplyTopic Travel = new(
        "travel",
        ["travel", "trip", "holiday", "vacation", "flight", "fly", "airport", "hotel", "visit", "tourist", "journey", "luggage", "passport", "city", "abroad", "pack", "packing", "sightseeing", "japan", "paris", "london", "tokyo", "europe"],
        [
            "A good trip comes from a little planning and a lot of room for surprises.",
            "Travel goes most smoothly when the essentials are sorted early and the rest stays flexible.",
            "The best trips usually do less, and see it better.",
        ],
        [
            "Check your passport's expiry date and any visa rules early, since some countries require six months of validity.",
            "Booking flights a few weeks ahead is usually cheaper than at the last minute, though not always.",
            "Trains between nearby cities are often faster door to door than flying.",
            "Travel insurance is cheap compared with a hospital bill abroad or a cancelled flight.",
            "Staying in one place for several nights is more relaxing than moving every day.",
            "Learning a few words of the local language, such as hello and thank you, is always appreciated.",
        ],
        ["A short checklist:", "Before you go:", "A few tips:"],
        [
            "**Pack light**: you will carry everything you bring.",
            "**Copy your documents**: keep a photo of your passport.",
            "**Tell your bank** 💳: so your card works abroad.",
            "**Plan one thing a day**: leave the rest open.",
            "**Eat where locals eat**: it is usually better and cheaper.",
            "**Download offline maps** ✈️: signal is not guaranteed.",
        ],
        [
            "In short, sort the documents early, pack light and leave time to wander.",
            "If you tell me where and when you are going, I can suggest a plan.",
            "Enjoy the trip, and leave a free afternoon for whatever you discover.",
        ],
        []);

    /// <summary>The answer to anything the topics do not cover: how to think a question through.</summary>
    public static readonly ReplyTopic General = new(
        "your question",
        [],
        [
            "That is a good question, and it is easier to answer once it is broken into smaller parts.",
            "Here is a general way to think it through.",
            "A short answer: it depends on a few things, and they are worth looking at one at a time.",
        ],
        [
            "Start by saying exactly what you want to know, because a precise question often half answers itself.",
            "Look for a reliable source, such as an encyclopedia, an official guide or an expert, before the first search result.",
            "Compare two or three sources: where they agree you can be fairly confident, and where they differ is the interesting part.",
            "Write down what you find in a few lines; explaining it to someone else is the best test of understanding.",
            "Be wary of answers that sound certain about things that are still debated.",
            "If the question involves a decision, list the options and what each would cost you.",
        ],
        ["A simple approach:", "Steps that usually help:", "Things to keep in mind:"],
        [
            "**Define the question**: one sentence, as precise as you can.",
            "**Check the source**: who wrote it, and when?",
            "**Look for examples**: they make general ideas concrete.",
            "**Ask a follow-up**: the second question is often the better one.",
            "**Take notes** 📝: a few lines are enough.",
            "**Give it time**: some answers become clear after a break.",
        ],
        [
            "If you tell me a bit more about what you need, I can give you a more specific answer.",
            "In short, narrow the question, check a couple of good sources and write down what you learn.",
            "I am happy to go deeper into any part of this.",
        ],
        []);

    private static readonly ReplyTopic[] All = [Sea, Space, Cooking, Programming, History, Music, Sleep, Weather, Travel];
}
